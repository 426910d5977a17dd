"""Benchmark: AED training throughput and model FLOPs utilisation (MFU), fp32 and bf16.

    .venv/bin/python bench/train_aed.py [--model aed_xs] [--steps 8] [--utts 16 --frames 500]
        [--device cuda] [--precisions bf16] [--set d_model=128 n_layers_dec=2]
        [--dropouts 0.1,0.0]

Runs real DeepSpeed training steps (ZeRO-2, AdamW, label-smoothed CE, one process) of a model
preset from conf/model on synthetic batches (N utterances x T frames, 20 tokens each) and
prints audio seconds trained per wall second and MFU: model FLOPs per step (forward + backward,
counted by torch's FlopCounterMode) per second, divided by the machine's matmul peak measured
in the same run for the same dtype, on the same device. Each figure is also printed as a
``RESULT<TAB>name<TAB>value<TAB>note`` line for bench/gpu_check.sh. ``--dropouts`` times the
model at each dropout rate (residual and attention/feed-forward alike) and prints each one's
speed against the first: on a CPU the dropout masks' random numbers are a visible share of a
small model's step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import DTYPES, add_training_bench_options, result, sync  # noqa: E402
from fireredasr.models.fireredasr_aed import FireRedAsrAed  # noqa: E402
from fireredasr.train.loss import label_smoothed_ce  # noqa: E402
from fireredasr.train.trainer import deepspeed_config, init_distributed  # noqa: E402


def matmul_peak(dtype: torch.dtype, device: str = "cpu", n: int = 2048, reps: int = 10) -> float:
    """Measured GFLOP/s of square matmuls (the device's practical peak for ``dtype``)."""
    if device.startswith("cuda"):
        n, reps = 8192, 20
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    for _ in range(2):
        a @ b
    sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def make_model(preset: str, vocab: int, **overrides) -> FireRedAsrAed:
    """A conf/model preset (fields replaced by ``overrides``) with seeded random weights. A
    field the preset lacks is an error, not a silently unused value."""
    preset_cfg = OmegaConf.load(REPO / "conf" / "model" / f"{preset}.yaml")
    unknown = sorted(set(overrides) - set(preset_cfg))
    if unknown:
        raise ValueError(f"{preset} has no field(s) {unknown}; its fields: {list(preset_cfg)}")
    cfg = OmegaConf.merge(preset_cfg, overrides)
    args = argparse.Namespace(idim=80, n_layers_enc=cfg.n_layers_enc, n_layers_dec=cfg.n_layers_dec,
                              n_head=cfg.n_head, d_model=cfg.d_model,
                              residual_dropout=cfg.residual_dropout, dropout_rate=cfg.dropout_rate,
                              kernel_size=cfg.kernel_size, pe_maxlen=5000,
                              odim=vocab, sos_id=3, eos_id=4, pad_id=2)
    torch.manual_seed(0)
    return FireRedAsrAed(args)


def batch(n: int, t: int, vocab: int, tokens: int = 20):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(n, t, 80, generator=g)
    lengths = torch.full((n,), t, dtype=torch.long)
    ys = torch.randint(5, vocab, (n, tokens + 1), generator=g)
    ys[:, 0] = 3
    return feats, lengths, ys[:, :-1], ys[:, 1:]


def step_flops(model, feats, lengths, ys_in, ys_out) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        logits, _ = model(feats, lengths, ys_in)
        label_smoothed_ce(logits, ys_out)[0].backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def run(precision: str, preset: str, vocab: int, data, steps: int, device: str,
        **overrides) -> float:
    import deepspeed

    model = make_model(preset, vocab, **overrides)
    trainer = OmegaConf.create({"precision": precision, "grad_accum": 1, "grad_clip": 5.0})
    ds = OmegaConf.load(REPO / "conf" / "deepspeed" / "zero2.yaml")
    params = [p for p in model.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-4)
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=params, optimizer=opt,
                                           config=deepspeed_config(ds, trainer))
    dev = engine.device
    feats, lengths, ys_in, ys_out = (x.to(dev) for x in data)
    dtype = DTYPES[precision]
    return time_steps(engine, lambda: label_smoothed_ce(engine(feats.to(dtype), lengths, ys_in)[0],
                                                        ys_out)[0], steps, 2, device)


def time_steps(engine, loss, steps: int, warmup: int, device: str) -> float:
    """Mean seconds of ``steps`` DeepSpeed steps (loss(), backward, step) after ``warmup``."""
    times = []
    for i in range(steps + warmup):
        sync(device)
        t = time.perf_counter()
        engine.backward(loss())
        engine.step()
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return sum(times) / len(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="aed_xs")
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="fields of the preset to replace, e.g. d_model=128 n_layers_dec=2")
    p.add_argument("--dropouts", default="",
                   help="comma-separated dropout rates to time against the first, e.g. 0.1,0.0")
    add_training_bench_options(p, utts=16, frames=500, steps=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    init_distributed()
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.set))
    try:
        rates = [float(x) for x in args.dropouts.split(",")] if args.dropouts else []
        model = make_model(args.model, args.vocab, **overrides).to(args.device)
    except ValueError as e:
        p.error(str(e))
    data = batch(args.utts, args.frames, args.vocab)
    n_params = sum(q.numel() for q in model.parameters())
    flops = step_flops(model, *(x.to(args.device) for x in data))
    del model
    audio = args.utts * args.frames / 100.0
    print(f"{args.model}: {n_params / 1e6:.1f}M parameters (vocab {args.vocab}); batch "
          f"{args.utts} x {args.frames} frames = {audio:.0f} s of audio; "
          f"{flops / 1e9:.1f} GFLOP per training step; {args.threads} threads")
    if rates:
        compare_dropouts(args, data, overrides, rates, audio)
        return 0
    report_training_speed(
        lambda precision: run(precision, args.model, args.vocab, data, args.steps, args.device,
                              **overrides),
        args.precisions.split(","), args.device, flops, audio, f"AED training {args.model}")
    return 0


def compare_dropouts(args, data, overrides: dict, rates: list, audio: float) -> None:
    """Seconds per training step at each dropout rate, and each one's speed-up over the first
    (``audio``: seconds of audio per step)."""
    for precision in args.precisions.split(","):
        base = None
        for rate in rates:
            sec = run(precision, args.model, args.vocab, data, args.steps, args.device,
                      **{**overrides, "residual_dropout": rate, "dropout_rate": rate})
            base = base or sec
            print(f"{precision}, dropout {rate}: {sec:.3f} s/step, {audio / sec:7.1f} audio-s/s, "
                  f"{base / sec:.2f}x the dropout {rates[0]} speed")
            result(f"AED training {args.model} {precision} dropout {rate}, audio-s/s",
                   audio / sec, f"{base / sec:.2f}x dropout {rates[0]}")


def report_training_speed(seconds_per_step, precisions, device: str, flops: float,
                          audio: float, label: str) -> None:
    """Time ``seconds_per_step(precision)`` for each precision and print audio-s/s and MFU
    against the matmul peak of that dtype measured now (also as RESULT lines)."""
    results = {}
    for precision in precisions:
        peak = matmul_peak(DTYPES[precision], device)
        sec = seconds_per_step(precision)
        results[precision] = sec
        achieved = flops / sec / 1e9
        print(f"{precision} on {device}: {sec:.3f} s/step, {audio / sec:7.1f} audio-s/s, "
              f"{achieved:6.1f} GFLOP/s of a measured {peak:6.1f} GFLOP/s matmul peak: "
              f"MFU {100 * achieved / peak:.1f}%")
        result(f"{label} {precision} ({device}), audio-s/s", audio / sec,
               f"MFU {100 * achieved / peak:.1f}% of {peak / 1e3:.1f} TFLOP/s")
    if "fp32" in results and "bf16" in results:
        print(f"bf16 speed-up over fp32: {results['fp32'] / results['bf16']:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    sys.exit(main())
