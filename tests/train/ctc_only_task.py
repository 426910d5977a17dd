"""A third model family in one module, as a contributor would add it: a CTC-only Conformer.

It exists to show (and test) that the task interface is the whole contract: this module
supplies the model, the targets, the loss and the export, and trains through the toolkit's
own ``run_training`` and Trainer with the AED's config and data, touching nothing else.

    python -m tests.train.ctc_only_task <Hydra overrides of conf/train_aed.yaml>
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import hydra
from omegaconf import DictConfig

from fireredasr.data.processor import UttInfo
from fireredasr.models.conformer_encoder import ConformerEncoder
from fireredasr.models.ctc import CTC, CTC_BLANK_ID
from fireredasr.train.aed_task import load_tokenizer
from fireredasr.train.run import train_or_exit
from fireredasr.train.task import Stats, Task

CONF_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "conf")


class CtcOnlyModel(nn.Module):
    def __init__(self, m: DictConfig, vocab: int):
        super().__init__()
        self.encoder = ConformerEncoder(m.idim, m.n_layers_enc, m.n_head, m.d_model,
                                        m.residual_dropout, m.dropout_rate, m.kernel_size,
                                        m.pe_maxlen)
        self.ctc = CTC(vocab, m.d_model)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor):
        enc, enc_lengths, _ = self.encoder(feats, lengths)
        return self.ctc.log_probs(enc), enc_lengths


class CtcOnlyTask(Task):
    def __init__(self, cfg: DictConfig):
        super().__init__(cfg)
        self.tokenizer = load_tokenizer(cfg.data.lang_dir)

    def tokenize(self, text: str) -> List[int]:
        return self.tokenizer.tokenize(text)[1]

    def targets(self, infos: Sequence[UttInfo]) -> Dict[str, Any]:
        ys = [torch.tensor(x.token_ids, dtype=torch.long) for x in infos]
        return {"ctc_targets": nn.utils.rnn.pad_sequence(ys, batch_first=True),
                "ctc_target_lengths": torch.tensor([len(y) for y in ys])}

    def build_model(self) -> nn.Module:
        return CtcOnlyModel(self.cfg.model, len(self.tokenizer))

    def compute_loss(self, model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Stats]:
        param = next(model.parameters())
        log_probs, enc_lengths = model(batch["feats"].to(param.device, param.dtype),
                                       batch["feat_lengths"].to(param.device))
        n_tokens = batch["ctc_target_lengths"].sum()
        loss = CTC.loss_sum(log_probs, enc_lengths, batch["ctc_targets"].to(param.device),
                            batch["ctc_target_lengths"].to(param.device), CTC_BLANK_ID)
        return loss / n_tokens.clamp(min=1), {"tokens": float(n_tokens), "correct": 0.0,
                                              "frames": float(batch["feat_lengths"].sum())}

    def export(self, out_dir: str, state: Dict[str, torch.Tensor], **options: Any) -> None:
        os.makedirs(out_dir, exist_ok=True)
        torch.save(state, os.path.join(out_dir, "ctc_model.pt"))


@hydra.main(config_path=os.path.abspath(CONF_DIR), config_name="train_aed", version_base="1.3")
def main(cfg: DictConfig) -> None:
    train_or_exit(CtcOnlyTask, cfg)


if __name__ == "__main__":
    sys.exit(main())
