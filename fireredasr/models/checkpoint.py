"""Model packages in the released layout: ``torch.save({"args": Namespace, "model_state_dict"})``.

Loading never unpickles arbitrary objects: ``weights_only=True`` with only
``argparse.Namespace`` allow-listed.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
from typing import Any, Dict, Tuple

import torch

torch.serialization.add_safe_globals([argparse.Namespace])


class CheckpointError(RuntimeError):
    """A model package that is missing, unsafe or does not fit the model."""


def load_package(path: str, map_location: str = "cpu") -> Dict[str, Any]:
    """Load a ``{"args", "model_state_dict"}`` package with weights-only unpickling."""
    if not os.path.isfile(path):
        raise CheckpointError(f"model package not found: {path}")
    try:
        package = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if unsafe:
            raise CheckpointError(
                f"refusing to load {path}: it holds a pickled {unsafe.group(1)}; only tensors "
                "and argparse.Namespace are allowed (weights-only loading)") from e
        raise CheckpointError(f"cannot read model package {path}: not a torch checkpoint "
                              f"({str(e).splitlines()[-1] if str(e) else e!r})") from e
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"cannot read model package {path}: {e}") from e
    if not isinstance(package, dict) or "model_state_dict" not in package:
        raise CheckpointError(f"{path} is not a FireRedASR model package "
                              "(expected a dict with 'args' and 'model_state_dict')")
    if not isinstance(package.get("args"), argparse.Namespace):
        raise CheckpointError(f"{path}: 'args' must be an argparse.Namespace")
    return package


def save_package(path: str, args: argparse.Namespace, state_dict: Dict[str, torch.Tensor]) -> None:
    """Write a package atomically (a crash never leaves a half-written file under ``path``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"args": args, "model_state_dict": state_dict}, tmp)
    os.replace(tmp, path)


def load_aed_model(path: str, map_location: str = "cpu") -> Tuple[torch.nn.Module, argparse.Namespace]:
    """Build a :class:`FireRedAsrAed` from a released-layout package, loaded strictly."""
    from fireredasr.models.fireredasr_aed import FireRedAsrAed

    package = load_package(path, map_location)
    model = FireRedAsrAed.from_args(package["args"])
    try:
        model.load_state_dict(package["model_state_dict"], strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not match the AED architecture in its args: {e}") from e
    return model, package["args"]


def save_aed_model(path: str, model: torch.nn.Module) -> None:
    """Save an AED model in the released package layout."""
    save_package(path, model.args, {k: v.detach().cpu() for k, v in model.state_dict().items()})
