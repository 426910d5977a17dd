"""FireRedASR-LLM: Conformer encoder -> adapter -> LLM (LoRA), checkpoint-compatible.

The LLM is any Hugging Face causal LM folder; the released model uses Qwen2-7B-Instruct. The
single ``<speech>`` token of the prompt is replaced by the adapter outputs.
"""
from __future__ import annotations

import argparse
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from fireredasr.models.adapter import Adapter
from fireredasr.models.ctc import CTC
from fireredasr.data.processor import IGNORE_ID
from fireredasr.models.conformer_encoder import ConformerEncoder
from fireredasr.tokenizer.llm_tokenizer import BOS_TOKEN, EOS_TOKEN, SPEECH_TOKEN

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "gate_proj", "down_proj"]


def build_encoder(aed_args: argparse.Namespace) -> ConformerEncoder:
    return ConformerEncoder(aed_args.idim, aed_args.n_layers_enc, aed_args.n_head,
                            aed_args.d_model, aed_args.residual_dropout, aed_args.dropout_rate,
                            aed_args.kernel_size, aed_args.pe_maxlen)


class FireRedAsrLlm(nn.Module):
    def __init__(self, encoder: ConformerEncoder, llm: nn.Module, adapter: Adapter,
                 speech_token_id: int, pad_id: int, bos_id: int, eos_id: int):
        super().__init__()
        self.encoder = encoder
        self.llm = llm
        self.encoder_projector = adapter
        self.speech_token_id = speech_token_id
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder_frozen = False

    @classmethod
    def assemble(cls, encoder: ConformerEncoder, llm: nn.Module, tokenizer: Any,
                 downsample_rate: int) -> "FireRedAsrLlm":
        """Encoder, a new adapter to the LLM's width, and the LLM, with the prompt's special
        ids from ``tokenizer`` (the LLM folder's, with ``<speech>``): the one assembly for
        training and loading."""
        speech_id = tokenizer.convert_tokens_to_ids(SPEECH_TOKEN)
        rows = llm.get_input_embeddings().num_embeddings
        if speech_id >= rows:
            raise ValueError(f"<speech> has id {speech_id} but the LLM's embedding table has "
                             f"{rows} rows")
        adapter = Adapter(encoder.odim, llm.config.hidden_size, downsample_rate)
        return cls(encoder, llm, adapter, speech_id, tokenizer.pad_token_id,
                   tokenizer.convert_tokens_to_ids(BOS_TOKEN),
                   tokenizer.convert_tokens_to_ids(EOS_TOKEN))

    def freeze_encoder(self) -> None:
        """Keep the encoder as initialised: no gradients, and eval mode even while the rest
        trains, so it gives the features its AED gave (dropout in a frozen encoder is only
        noise, and on CPU it cost about a sixth of a training step)."""
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.encoder_frozen = True
        self.encoder.eval()

    def train(self, mode: bool = True) -> "FireRedAsrLlm":
        super().train(mode)
        if self.encoder_frozen:
            self.encoder.eval()
        return self

    def merge_lora(self) -> None:
        """Fold LoRA adapters into the LLM's weights (for decoding; training needs them apart)."""
        if hasattr(self.llm, "merge_and_unload"):
            self.llm = self.llm.merge_and_unload()

    @property
    def max_input_frames(self) -> int:
        """Most fbank frames one input may have (the encoder's positional table)."""
        return self.encoder.max_input_frames

    def merge_speech(self, feats: torch.Tensor, feat_lengths: torch.Tensor,
                     input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     labels: Optional[torch.Tensor] = None
                     ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Embed the prompt and put the adapter outputs where ``<speech>`` stands.

        Every row holds one ``<speech>`` at the same position (prompts are right-padded).
        Padded speech frames of shorter utterances are masked out, so a batch decodes like
        its utterances one at a time.
        """
        speech, speech_lens = self.embed_speech(feats, feat_lengths)
        return self.merge(speech, speech_lens, input_ids, attention_mask, labels)

    def embed_speech(self, feats: torch.Tensor, feat_lengths: torch.Tensor
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(adapter outputs (N, S, llm width), their lengths): the speech in the LLM's
        embedding space."""
        enc, enc_lengths, _ = self.encoder(feats, feat_lengths)
        return self.encoder_projector(enc, enc_lengths)

    def merge(self, speech: torch.Tensor, speech_lens: torch.Tensor, input_ids: torch.Tensor,
              attention_mask: torch.Tensor, labels: Optional[torch.Tensor] = None
              ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """``merge_speech`` for adapter outputs already computed."""
        positions = (input_ids == self.speech_token_id).nonzero()
        if positions.size(0) != input_ids.size(0) or not bool((positions[:, 1] == positions[0, 1]).all()):
            raise ValueError("every prompt must hold exactly one <speech> token at the same position")
        pos = int(positions[0, 1])
        embed = self.llm.get_input_embeddings()
        text = embed(input_ids.masked_fill(input_ids == self.speech_token_id, self.pad_id))
        text = text.masked_fill((input_ids == self.pad_id)[..., None], 0.0)
        speech = speech.to(text.dtype)
        n, s = speech.shape[:2]
        speech_mask = torch.arange(s, device=speech.device)[None, :] < speech_lens[:, None]
        inputs_embeds = torch.cat([text[:, :pos], speech, text[:, pos + 1:]], dim=1)
        mask = torch.cat([attention_mask[:, :pos].bool(), speech_mask,
                          attention_mask[:, pos + 1:].bool()], dim=1)
        merged_labels = None
        if labels is not None:
            ignore = torch.full((n, s), IGNORE_ID, dtype=labels.dtype, device=labels.device)
            merged_labels = torch.cat([labels[:, :pos], ignore, labels[:, pos + 1:]], dim=1)
        return inputs_embeds, mask, merged_labels

    def forward(self, feats, feat_lengths, input_ids, attention_mask, labels,
                adapter_ctc: bool = False,
                encoder_out: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """(loss, logits, labels, adapter CTC loss per token or None): the LLM's token-level
        cross entropy on the assistant turn, for training; with ``adapter_ctc`` also
        ``adapter_ctc_loss``. ``encoder_out`` (outputs, lengths), when given, stands for the
        encoder's pass over ``feats`` (a frozen encoder's outputs computed earlier).

        The returned ``logits`` and ``labels`` cover only the sequence's tail from the
        position before the first labelled one (``logits[:, t]`` predicts ``labels[:, t + 1]``):
        the prompt and the speech slot need no output scores, and the LM head over the whole
        vocabulary at every position is a large share of a small LLM's step."""
        if encoder_out is None:
            speech, speech_lens = self.embed_speech(feats, feat_lengths)
        else:
            speech, speech_lens = self.encoder_projector(*encoder_out)
        inputs_embeds, mask, merged = self.merge(speech, speech_lens, input_ids, attention_mask,
                                                 labels)
        keep = self.scored_tail_length(merged)
        logits = self.llm(inputs_embeds=inputs_embeds, attention_mask=mask,
                          logits_to_keep=keep).logits
        tail = merged[:, -keep:]
        loss = F.cross_entropy(logits[:, :-1].float().flatten(0, 1), tail[:, 1:].flatten(),
                               ignore_index=IGNORE_ID)
        ctc = self.adapter_ctc_loss(speech, speech_lens, labels) if adapter_ctc else None
        return loss, logits, tail, ctc

    @staticmethod
    def scored_tail_length(labels: torch.Tensor) -> int:
        """How many final positions of a batch's merged ``labels`` need output scores: from
        the one before the first labelled position on (at least 2, at most all)."""
        labelled = (labels != IGNORE_ID).any(0).nonzero()
        keep = labels.size(1) - int(labelled[0]) + 1 if labelled.numel() else 2
        return max(2, min(keep, labels.size(1)))

    def adapter_ctc_loss(self, speech: torch.Tensor, speech_lens: torch.Tensor,
                         labels: torch.Tensor) -> torch.Tensor:
        """CTC of the adapter outputs against the transcript's LLM tokens, per token.

        Each output position is scored against every row of the LLM's own input embedding
        table by its squared distance (the pad token's row is the blank), so the loss pulls
        the speech onto the embeddings of the tokens it says, at their scale: the input a
        frozen LLM can read from the first step. The distances are taken in units of a tenth
        of the rows' mean squared norm, which makes the scores peaky enough for CTC whatever
        the LLM's embedding scale. A training aid only: it adds no weights.
        """
        table = self.llm.get_input_embeddings().weight.float()
        x = speech.float()
        sq_dist = ((x * x).sum(-1, keepdim=True) - 2 * x @ table.t()
                   + (table * table).sum(-1)[None, None, :])
        unit = 0.1 * float((table * table).sum(-1).mean().detach())
        log_probs = F.log_softmax(-sq_dist / unit, dim=-1)
        said = (labels != IGNORE_ID) & (labels != self.eos_id) & (labels != self.pad_id)
        target_lengths = said.sum(1)
        # Each row's tokens, rows concatenated: the 1-D target form of CTC.
        loss = CTC.loss_sum(log_probs, speech_lens, labels[said], target_lengths,
                            blank=self.pad_id)
        return loss / target_lengths.sum().clamp(min=1)

    @torch.no_grad()
    def transcribe(self, feats: torch.Tensor, feat_lengths: torch.Tensor,
                   input_ids: torch.Tensor, attention_mask: torch.Tensor, beam_size: int = 1,
                   decode_max_len: int = 0, decode_min_len: int = 0,
                   repetition_penalty: float = 1.0, length_penalty: float = 1.0,
                   temperature: float = 1.0) -> torch.Tensor:
        """Generated token ids (N, L), new tokens only, pad-filled after eos."""
        inputs_embeds, mask, _ = self.merge_speech(feats, feat_lengths, input_ids, attention_mask)
        speech_len = inputs_embeds.size(1) - input_ids.size(1) + 1
        max_new = speech_len if decode_max_len < 1 else decode_max_len
        return self.llm.generate(
            inputs_embeds=inputs_embeds, attention_mask=mask.long(), max_new_tokens=max(1, max_new),
            num_beams=beam_size, do_sample=False, min_length=decode_min_len, top_p=1.0,
            top_k=None, repetition_penalty=repetition_penalty, length_penalty=length_penalty,
            temperature=temperature, bos_token_id=self.bos_id, eos_token_id=self.eos_id,
            pad_token_id=self.pad_id)


def is_package_key(key: str) -> bool:
    """Whether a state-dict key belongs in a released package: the encoder, the adapter and
    the LoRA weights, not the frozen base LLM (which comes from the LLM folder)."""
    return not key.startswith("llm.") or "lora_" in key


def llm_state_keys_ok(missing: List[str], unexpected: List[str]) -> Optional[str]:
    """A problem description when a package does not fit, else None. Only the frozen base
    LLM weights may be missing."""
    if unexpected:
        return f"unexpected keys {unexpected[:5]}"
    bad = [k for k in missing if is_package_key(k)]
    if bad:
        return f"missing keys {bad[:5]}"
    return None
