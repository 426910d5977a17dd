#!/usr/bin/env python3
"""Can stage 9 teach a base LLM to read its speech slot? A check with a perfect "encoder".

The encoder is replaced by the LLM's own embeddings of the transcript's tokens, each repeated
2-4 times (speech spans several positions per token), so the content is in the slot
by construction. Everything else is the toolkit's LLM path: the real adapter, the `<speech>`
merge, the prompt targets, LoRA on the frozen LLM, the training loss. The same run with the
slot zeroed is the baseline: what the LLM predicts without reading.

    .venv/bin/python bench/llm_read_check.py --llm_dir recipes/mini/exp/llm_base \\
        --text recipes/mini/data/train/text --valid_text recipes/mini/data/dev/text

Validation token accuracy well above the baseline's means this base LLM, through the toolkit's
path, learns to read its slot (a flat real stage 9 then points at the speech side); equal
accuracies mean it does not learn even this within the steps given.
"""
import argparse
import os
import random
import sys
import time
from typing import Dict, List, Sequence

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fireredasr.data.kaldi_dir import iter_text_lines  # noqa: E402
from fireredasr.models.checkpoint import load_llm  # noqa: E402
from fireredasr.models.fireredasr_llm import FireRedAsrLlm  # noqa: E402
from fireredasr.tokenizer.llm_tokenizer import build_llm_tokenizer, clean_text  # noqa: E402
from fireredasr.train.llm_task import compute_loss, prompt_targets  # noqa: E402


class TokenEncoder(nn.Module):
    """Stands in for the Conformer: frame values are token ids, looked up in a frozen copy of
    the LLM's own input embeddings (the adapter then has an identity to learn)."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.odim = table.size(1)
        self.table = nn.Embedding.from_pretrained(table.detach().clone(), freeze=True)
        self.zero = False  # True: the baseline, nothing in the slot

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor):
        out = self.table(feats[..., 0].long())
        if self.zero:
            out = torch.zeros_like(out)
        return out, lengths, None


def token_frames(tokenizer, texts: Sequence[str], rng: random.Random):
    """(feats (N, T, 1), lengths): each text's LLM tokens, each repeated 2-4 times."""
    rows: List[List[int]] = []
    for t in texts:
        ids = tokenizer(clean_text(t), add_special_tokens=False)["input_ids"]
        rows.append([i for i in ids for _ in range(rng.randint(2, 4))])
    width = max(len(r) for r in rows)
    feats = torch.zeros(len(rows), width, 1)
    for k, r in enumerate(rows):
        feats[k, :len(r), 0] = torch.tensor(r, dtype=torch.float)
    return feats, torch.tensor([len(r) for r in rows])


def batch(tokenizer, texts: Sequence[str], rng: random.Random) -> Dict[str, torch.Tensor]:
    feats, lengths = token_frames(tokenizer, texts, rng)
    return {"feats": feats, "feat_lengths": lengths, **prompt_targets(tokenizer, texts)}


def run(args, texts: List[str], valid: List[str], zero: bool) -> Dict[str, float]:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tokenizer = build_llm_tokenizer(args.llm_dir)
    llm = load_llm(args.llm_dir, True, torch.float32, "eager", args.lora_r, 2 * args.lora_r, 0.0)
    encoder = TokenEncoder(llm.get_input_embeddings().weight)
    encoder.zero = zero
    model = FireRedAsrLlm.assemble(encoder, llm, tokenizer, downsample_rate=2)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr)
    start = time.time()
    for _ in range(args.steps):
        loss, _ = compute_loss(model, batch(tokenizer, rng.sample(texts, args.batch_size), rng))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
    model.eval()
    with torch.no_grad():
        loss, stats = compute_loss(model, batch(tokenizer, valid, rng))
    return {"valid_loss": float(loss), "valid_acc": stats["correct"] / max(stats["tokens"], 1.0),
            "seconds": time.time() - start}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llm_dir", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--valid_text", required=True)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lora_r", type=int, default=16)
    p.add_argument("--num_valid", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    texts = [t for _, t in iter_text_lines(args.text) if t.strip()]
    valid = [t for _, t in iter_text_lines(args.valid_text) if t.strip()][:args.num_valid]
    base = run(args, texts, valid, zero=True)
    read = run(args, texts, valid, zero=False)
    print(f"{args.steps} LoRA steps (r {args.lora_r}, lr {args.lr}), batch {args.batch_size}, "
          f"{len(valid)} validation transcripts, LLM {args.llm_dir}")
    print("| slot | validation loss | validation token accuracy | train time |")
    print("|---|---|---|---|")
    for name, r in (("zeroed (baseline)", base), ("transcript tokens, 2-4x", read)):
        print(f"| {name} | {r['valid_loss']:.3f} | {r['valid_acc']:.3f} | {r['seconds']:.0f} s |")
    ratio = read["valid_acc"] / max(base["valid_acc"], 1e-9)
    print(f"accuracy ratio (tokens / baseline): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
