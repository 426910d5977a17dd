"""Helpers shared by the command-line entry points."""
from __future__ import annotations

import logging
import os
import sys


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr with timestamps, as every stage of a recipe does. Handlers someone else
    installed (an embedding program, pytest) are kept; only the level is set."""
    logging.basicConfig(stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())


def log_other_family_flags(log: logging.Logger, family: str, other: dict) -> None:
    """Log the decoding flags given that belong to the other model family (as
    ``decode.options.options_from_flags`` returns them): the recipes pass one set of flags to
    both families' commands, so they are ignored, not refused."""
    if other:
        log.info("not %s options, ignored: %s", family.upper(),
                 " ".join(f"--{k} {v}" for k, v in other.items()))


def export_parser(doc: str, default_num: int, default_out: str) -> "argparse.ArgumentParser":
    """The options every export command shares: which experiment, how many checkpoints are
    averaged (the last N, or the N best by validation loss), and where the folder goes."""
    import argparse

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--exp_dir", required=True)
    p.add_argument("--num", type=int, default=default_num, help="checkpoints averaged")
    p.add_argument("--mode", choices=["last", "best"], default="last")
    p.add_argument("--out_dir", help=f"default: <exp_dir>/{default_out}")
    return p


def export_command(task_cls, args: "argparse.Namespace", default_out: str, **options) -> int:
    """The body of every export command: average the run's checkpoints, write the folder
    with the family's task (``task_cls``), and report; a missing or unusable run is a message
    and exit status 1."""
    # torch and DeepSpeed load here, not when an entry point imports this module for its
    # argument parser (so --help and usage errors stay instant)
    from fireredasr.models.checkpoint import CheckpointError
    from fireredasr.train.run import export_run

    setup_logging()
    logger = logging.getLogger("export")
    out_dir = args.out_dir or os.path.join(args.exp_dir, default_out)
    try:
        export_run(task_cls, args.exp_dir, args.num, args.mode, out_dir, **options)
    except (FileNotFoundError, ValueError, CheckpointError) as e:
        logger.error("%s", e)
        return 1
    logger.info("exported %s", out_dir)
    return 0
