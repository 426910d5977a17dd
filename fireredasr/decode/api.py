"""The transcription API, compatible with the released ``FireRedAsr`` class.

    from fireredasr.models.fireredasr import FireRedAsr
    model = FireRedAsr.from_pretrained("aed", "pretrained_models/FireRedASR-AED-L")
    results = model.transcribe(["utt1"], ["utt1.wav"], {"beam_size": 3})
    # [{"uttid": "utt1", "text": "...", "confidence": 0.93, "dur_s": 2.1, "wav": "utt1.wav",
    #   "rtf": "0.0123"}]

FireRedASR2 folders (an AED with a CTC head) also take return_timestamp, elm_dir/elm_weight
and the CTC decoding modes (docs/fireredasr2.md).

Unlike the released code, an input that cannot be decoded (unreadable, empty, too long) is
logged with its reason and left out of the results instead of aborting the whole batch; callers
find the skipped ones by comparing the returned uttids with those they asked for.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from fireredasr.data.audio import AudioError, AudioSource
from fireredasr.data.frontend import Frontend, pad_features
from fireredasr.decode.options import (AedDecodeOptions, DecodeOptions, LlmDecodeOptions,
                                       decode_options)
from fireredasr.decode.timestamps import fix_timestamps, uniform_times
from fireredasr.models import released_layout as layout
from fireredasr.models.beam_search import Hypothesis, check_elm_fits
from fireredasr.models.checkpoint import load_aed_model, load_elm, load_llm_model
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.llm_tokenizer import encode_prompts
from fireredasr.tokenizer.token_dict import TokenDict

logger = logging.getLogger(__name__)

# The released AED model was trained on utterances up to about a minute; beyond that it is
# known to hallucinate or drop words.
LONG_AUDIO_WARN_SECONDS = 60.0

# An ONNX export (fireredasr-export-onnx) decodes as an AED: fp32 or int8 graphs.
ONNX_ASR_TYPES = {"aed_onnx": False, "aed_onnx_int8": True}
ASR_TYPES = ("aed", "llm") + tuple(ONNX_ASR_TYPES)


def model_family(asr_type: str) -> str:
    """"aed" or "llm": which decoding options and results an ``asr_type`` has."""
    if asr_type not in ASR_TYPES:
        raise ValueError(f"asr_type must be one of {', '.join(ASR_TYPES)}, got {asr_type!r}")
    return "llm" if asr_type == "llm" else "aed"


def _require_files(model_dir: str, names: Sequence[str]) -> None:
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model folder not found: {model_dir}")
    missing = [n for n in names if not os.path.exists(os.path.join(model_dir, n))]
    if missing:
        raise FileNotFoundError(f"model folder {model_dir} lacks {', '.join(missing)} "
                                f"(this kind of folder holds {', '.join(names)})")


class FireRedAsr:
    """Load a released-layout model folder and transcribe batches of audio files."""

    @classmethod
    def from_pretrained(cls, asr_type: str, model_dir: str) -> "FireRedAsr":
        model_family(asr_type)  # names the valid types
        if asr_type == "aed":
            _require_files(model_dir, layout.AED_FILES)
            frontend = Frontend.from_cmvn_file(os.path.join(model_dir, layout.CMVN))
            model, _ = load_aed_model(os.path.join(model_dir, layout.MODEL))
            tokenizer = ChineseCharEnglishSpmTokenizer.from_files(
                os.path.join(model_dir, layout.DICT),
                os.path.join(model_dir, layout.BPE_MODEL))
        elif asr_type == "llm":
            _require_files(model_dir, layout.LLM_FILES)
            frontend = Frontend.from_cmvn_file(os.path.join(model_dir, layout.CMVN))
            # LoRA folded into the weights and fused attention: the same text, faster
            # (bench/decode_llm.py compares it with the released loader's way).
            model, tokenizer = load_llm_model(model_dir, merge_lora=True,
                                              attn_implementation="sdpa")
        else:
            from fireredasr.deploy.onnx_model import OnnxAed  # onnxruntime: only when asked

            model = OnnxAed(model_dir, int8=ONNX_ASR_TYPES[asr_type])
            frontend = Frontend(model.cmvn)
            tokenizer = ChineseCharEnglishSpmTokenizer(TokenDict.from_file(model.tokens_path),
                                                       None)
        model.eval()
        return cls(asr_type, frontend, model, tokenizer)

    def __init__(self, asr_type: str, frontend: Frontend, model: torch.nn.Module, tokenizer):
        self.asr_type = asr_type
        self.family = model_family(asr_type)
        self.feat_extractor = frontend
        self.model = model
        self.tokenizer = tokenizer
        # An AED with a CTC head is a FireRedASR2 model: its text is lower-cased and it can
        # give timestamps, as the released v2 code does. Its ONNX export keeps the text rule
        # (the metadata's version) but has no CTC head.
        self.has_ctc = getattr(model, "ctc", None) is not None
        self.is_v2 = self.family == "aed" and (self.has_ctc or getattr(model, "version", 1) == 2)
        self._elm: Optional[Tuple[str, torch.nn.Module]] = None  # (elm_dir, model), cached

    def options(self, args: Union[None, Mapping[str, Any], DecodeOptions] = None
                ) -> DecodeOptions:
        """This model's typed options from a released ``args`` dict (or options as given)."""
        return decode_options(self.family, args)

    def check_options(self, args: Union[None, Mapping[str, Any], DecodeOptions] = None
                      ) -> DecodeOptions:
        """The typed options; raises (ValueError, CheckpointError) when they cannot work with
        this model, before any audio is read: timestamps or a CTC mode without a CTC head, an
        unusable external LM."""
        opts = self.options(args)
        if isinstance(opts, AedDecodeOptions):
            if opts.needs_ctc and not self.has_ctc:
                what = ("return_timestamp" if opts.return_timestamp
                        else f"decode_mode {opts.decode_mode}")
                raise ValueError(f"{what} needs a model with a CTC head (FireRedASR2, or "
                                 "trained with model.ctc_weight > 0)")
            if opts.fuses_elm:
                if self.asr_type != "aed":
                    raise ValueError("an external LM (elm_dir) fuses with the PyTorch AED only")
                check_elm_fits(self.external_lm(opts.elm_dir), self.model.decoder)
        return opts

    def external_lm(self, elm_dir: str) -> torch.nn.Module:
        """The LSTM LM of ``elm_dir``, loaded once and kept while the same folder is asked for."""
        if self._elm is None or self._elm[0] != elm_dir:
            self._elm = (elm_dir, load_elm(elm_dir))
        return self._elm[1]

    def accepts(self, uttid: str, feat: torch.Tensor, dur: float) -> bool:
        """False (with a logged reason) for inputs the model cannot decode; warns on long ones."""
        if feat.size(0) == 0:
            logger.error("skipping %s: shorter than one 25 ms frame", uttid)
            return False
        if feat.size(0) > self.model.max_input_frames:
            logger.error("skipping %s: %.1f s of audio exceeds the model's limit of about "
                         "%.0f s (its positional table); split it into shorter segments",
                         uttid, dur, self.model.max_input_frames / 100)
            return False
        if dur > LONG_AUDIO_WARN_SECONDS:
            logger.warning("%s is %.1f s long; the released models were trained on shorter "
                           "utterances and may hallucinate beyond %.0f s",
                           uttid, dur, LONG_AUDIO_WARN_SECONDS)
        return True

    def load_inputs(self, uttids: Sequence[str], sources: Sequence[AudioSource]
                    ) -> Tuple[List[int], List[torch.Tensor], List[float]]:
        """(indices kept, features, durations in seconds) of the inputs that can be decoded:
        the one audio -> features path of the API and of data-dir decoding. ``sources`` are
        (file or ``cmd |`` pipe, segment start, segment end) with None for a whole file.
        Unreadable, empty or too long inputs are logged with their reason and left out."""
        kept: List[int] = []
        feats: List[torch.Tensor] = []
        durs: List[float] = []
        for i, (uttid, (spec, start, end)) in enumerate(zip(uttids, sources)):
            try:
                feat, dur = self.feat_extractor.load(spec, start, end)
            except AudioError as e:
                logger.error("skipping %s: %s", uttid, e)
                continue
            if self.accepts(uttid, feat, dur):
                kept.append(i)
                feats.append(feat)
                durs.append(dur)
        return kept, feats, durs

    @torch.no_grad()
    def transcribe(self, batch_uttid: Sequence[str], batch_wav_path: Sequence[str],
                   args: Union[None, Mapping[str, Any], DecodeOptions] = None
                   ) -> List[Dict[str, Any]]:
        """Decode one batch. Returns one dict per decodable input: uttid, text, confidence,
        dur_s, wav, rtf (the released FireRedASR2 form), and "timestamp" when asked.

        ``args`` is a released ``args`` dict (use_gpu, beam_size, nbest, decode_max_len,
        softmax_smoothing, aed_length_penalty, eos_penalty; for FireRedASR2 also
        return_timestamp, elm_dir, elm_weight; plus bf16) or the family's options object
        (``decode/options.py``). With nbest > 1 each dict also has "nbest": [{"text",
        "score", "confidence"}, ...], best first.
        """
        kept, feats, durs = self.load_inputs(batch_uttid,
                                             [(p, None, None) for p in batch_wav_path])
        if not kept:
            return []
        results, elapsed = self.decode_features([batch_uttid[i] for i in kept], feats, args,
                                                durs)
        total_dur = sum(durs)
        rtf = elapsed / total_dur if total_dur > 0 else 0.0
        for r, i in zip(results, kept):
            r["wav"] = batch_wav_path[i]
            r["rtf"] = f"{rtf:.4f}"
        return results

    @torch.no_grad()
    def decode_features(self, uttids: Sequence[str], feats: Sequence[torch.Tensor],
                        args: Union[None, Mapping[str, Any], DecodeOptions] = None,
                        durs: Optional[Sequence[float]] = None
                        ) -> Tuple[List[Dict[str, Any]], float]:
        """Decode normalised features (one (T, 80) tensor per utterance) of audio lasting
        ``durs`` seconds (default: 10 ms per frame).

        Returns ([{"uttid", "text", "confidence", "dur_s"(, "timestamp")(, "nbest")}],
        seconds spent in the model). An LLM result has no confidence.
        """
        opts = self.options(args)
        if durs is None:
            durs = [f.size(0) / 100 for f in feats]
        device = torch.device("cuda" if opts.use_gpu else "cpu")
        self.model.to(device)
        padded, lengths = pad_features(feats)
        padded, lengths = padded.to(device), lengths.to(device)
        autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if opts.bf16
                    else contextlib.nullcontext())
        start = time.perf_counter()
        with autocast:
            if isinstance(opts, AedDecodeOptions):
                hyps = self._search_aed(padded, lengths, opts)
            else:
                texts = self._generate_llm(padded, lengths, opts)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if isinstance(opts, LlmDecodeOptions):
            return [{"uttid": u, "text": t, "dur_s": round(d, 3)}
                    for u, t, d in zip(uttids, texts, durs)], elapsed
        return [self.aed_result(u, nbest, d, opts.return_timestamp, opts.nbest > 1)
                for u, nbest, d in zip(uttids, hyps, durs)], elapsed

    def _search_aed(self, feats: torch.Tensor, lengths: torch.Tensor,
                    opts: AedDecodeOptions) -> List[List[Hypothesis]]:
        elm = self.external_lm(opts.elm_dir).to(feats.device) if opts.fuses_elm else None
        return self.model.transcribe(feats, lengths, opts, elm, opts.return_timestamp)

    def _generate_llm(self, feats: torch.Tensor, lengths: torch.Tensor,
                      opts: LlmDecodeOptions) -> List[str]:
        ids, mask, _, _ = encode_prompts(self.tokenizer, [""] * feats.size(0), decode=True)
        generated = self.model.transcribe(feats, lengths, ids.to(feats.device),
                                          mask.to(feats.device), **opts.generation_kwargs())
        # An LLM may emit newlines or tabs; a hypothesis is one line of text.
        return [" ".join(t.split())
                for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]

    def aed_result(self, uttid: str, nbest: List[Hypothesis], dur: float,
                   return_timestamp: bool, with_nbest: bool) -> Dict[str, Any]:
        """The released v2 result dict of one utterance's n-best list."""
        texts = [self.hypothesis_text(h.yseq) for h in nbest]
        result: Dict[str, Any] = {"uttid": uttid, "text": texts[0],
                                  "confidence": round(nbest[0].confidence, 3),
                                  "dur_s": round(dur, 3)}
        if return_timestamp:
            result["timestamp"] = self.timestamps(nbest[0], dur)
        if with_nbest:
            result["nbest"] = [{"text": t, "score": h.score,
                                "confidence": round(h.confidence, 3)}
                               for t, h in zip(texts, nbest)]
        return result

    def hypothesis_text(self, yseq: torch.Tensor) -> str:
        """Token ids -> text; FireRedASR2 also drops <blank>/<sil> and lower-cases."""
        text = self.tokenizer.detokenize([int(t) for t in yseq])
        if self.is_v2:
            text = text.replace("<blank>", "").replace("<sil>", "").lower()
        return text

    def timestamps(self, hyp: Hypothesis, dur: float) -> List[Tuple[str, float, float]]:
        """(token, start, end) of a hypothesis from its CTC alignment (equal slots without one)."""
        tokens = [self.tokenizer.dict[int(t)] for t in hyp.yseq]
        if hyp.ctc_times is None:
            starts, ends = uniform_times(len(tokens), dur)
            return [(t.lower(), round(s, 3), round(e, 3)) for t, s, e in zip(tokens, starts, ends)]
        return fix_timestamps(tokens, *hyp.ctc_times, dur)
