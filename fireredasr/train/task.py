"""What a model family supplies to training: the task interface.

A task owns everything family-specific: its tokenizer and text -> token ids, the model, the
batch targets (built once per batch, in collate), the loss and the export to a model folder.
:func:`fireredasr.train.run.run_training` and the :class:`~fireredasr.train.trainer.Trainer`
are generic over it: they know nothing of tokens, frontends or special ids. A new family (say,
a CTC-only model) is one subclass in its own module plus one config.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from omegaconf import DictConfig

from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.data.dataset import build_utterance_table
from fireredasr.data.frontend import Frontend
from fireredasr.data.processor import UttInfo

Stats = Dict[str, float]  # per batch: "tokens", "correct", "frames", plus any loss parts


class Task(ABC):
    """One model family's training, configured by the run's config ``cfg``."""

    # Checkpoints leave out weights that do not train (the LLM's frozen base, which comes from
    # its own folder); resuming then loads them non-strictly.
    exclude_frozen: bool = False

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg

    # ---- data ---------------------------------------------------------------------------

    @abstractmethod
    def tokenize(self, text: str) -> List[int]:
        """A transcript's token ids (the utterance tables keep them, filter by their count)."""

    @property
    def unk_id(self) -> int:
        """The id whose presence the utterance tables count (-1: none)."""
        return -1

    def frontend(self) -> Optional[Frontend]:
        """Audio -> features with the training set's CMVN; None for a text-only task."""
        return Frontend(GlobalCMVN.from_file(self.cfg.data.cmvn))

    def load_data(self) -> Tuple[List[UttInfo], List[UttInfo]]:
        """(train, valid) utterance tables of ``data.train_dir`` and ``data.valid_dir``."""
        d = self.cfg.data
        return tuple(build_utterance_table(path, self.tokenize, self.unk_id, d.min_frames,
                                           d.max_frames, d.max_tokens, name)
                     for path, name in ((d.train_dir, "train"), (d.valid_dir, "valid")))

    @abstractmethod
    def targets(self, infos: Sequence[UttInfo]) -> Dict[str, Any]:
        """The batch's target tensors, built in collate (in the loader's workers)."""

    # ---- model --------------------------------------------------------------------------

    @abstractmethod
    def build_model(self) -> torch.nn.Module:
        """The model to train, initialised (and partly frozen) as configured."""

    @abstractmethod
    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]
                     ) -> Tuple[torch.Tensor, Stats]:
        """(loss, stats) of a batch; ``model`` is the DeepSpeed engine or the bare model."""

    @abstractmethod
    def export(self, out_dir: str, state: Dict[str, torch.Tensor], **options: Any) -> None:
        """Write the model folder of (averaged) weights ``state`` of a run with this config."""
