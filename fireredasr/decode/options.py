"""Decoding options: one typed, validated class per model family.

:class:`AedDecodeOptions` (the AED, its ONNX export, FireRedASR2) and :class:`LlmDecodeOptions`
own the defaults, the validation, the command-line flags and the conversion from the released
``args`` dict. The API (``FireRedAsr.transcribe``), ``fireredasr-transcribe``,
``fireredasr-decode`` and the recipes all go through them; to add a decoding option, add a
field here (and read it where it acts).

Flags and dict keys keep the released names, which differ from the field names in two places:
``aed_length_penalty`` / ``llm_length_penalty`` (both ``length_penalty``) and ``ctc_weight``
(``rescoring_ctc_weight``, not to be confused with training's CTC weight).
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

from fireredasr.models.beam_search import ATTENTION_SEARCH_MODES, DECODE_MODES, BeamSearchConfig

# Released keys accepted and ignored: FireRedASR2's fp16 switch (the toolkit's reduced
# precision is ``bf16`` autocast).
IGNORED_RELEASED_KEYS = frozenset({"use_half"})

# Where and how a decode runs, set by each command line from its own flags (--use_gpu, --ngpu,
# --bf16), so not registered as decoding flags.
RUNTIME_FIELDS = ("use_gpu", "bf16")

HELP = {
    "beam_size": "beam width",
    "nbest": "hypotheses kept per utterance (nbest > 1: an n-best list beside the text)",
    "decode_max_len": "most output tokens (0: the encoder length)",
    "softmax_smoothing": "divide the decoder's logits by this before the softmax",
    "aed_length_penalty": "score + this x length when a hypothesis ends",
    "eos_penalty": "scale of the <eos> log-probability (FireRedASR2 allows > 1)",
    "decode_mode": "attention (the released search) or a CTC mode (needs a CTC head)",
    "ctc_weight": "attention_rescoring and joint_ctc_attention: score = attention + "
                  "ctc_weight x CTC",
    "elm_dir": "external LSTM LM folder for shallow fusion (FireRedASR2)",
    "elm_weight": "shallow-fusion weight of the external LM",
    "return_timestamp": "1: token timestamps from CTC alignment (needs a CTC head)",
    "decode_min_len": "fewest new tokens",
    "repetition_penalty": "Hugging Face generate()'s repetition penalty",
    "llm_length_penalty": "Hugging Face generate()'s length penalty (beam search)",
    "temperature": "Hugging Face generate()'s temperature",
}


class _ReleasedNames:
    """Conversion between the fields and the released key names, shared by both families."""

    RELEASED_KEYS: ClassVar[Dict[str, str]] = {}  # field -> released key, where they differ
    PAPER: ClassVar[Dict[str, Any]] = {}           # the FireRedASR paper's settings

    @classmethod
    def released_keys(cls) -> Dict[str, str]:
        """Every field's released key name (field -> key)."""
        return {f.name: cls.RELEASED_KEYS.get(f.name, f.name) for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, args: Optional[Mapping[str, Any]] = None, base: Any = None):
        """Options from a released ``args`` dict, on top of ``base`` (default: the defaults).

        Keys of the other family are ignored (the released scripts pass one dict to both); a
        key that no family knows is a ValueError naming it.
        """
        args = {k: v for k, v in (args or {}).items() if k not in IGNORED_RELEASED_KEYS}
        unknown = sorted(set(args) - ALL_RELEASED_KEYS)
        if unknown:
            raise ValueError(f"unknown decoding option(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(ALL_RELEASED_KEYS))}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for name, key in cls.released_keys().items():
            if key in args and args[key] is not None:
                values[name] = _coerce(key, args[key], fields[name].type)
        return dataclasses.replace(base if base is not None else cls(), **values)

    @classmethod
    def paper(cls):
        """The settings the FireRedASR paper's numbers were decoded with."""
        return cls.from_dict(cls.PAPER)

    def to_dict(self) -> Dict[str, Any]:
        """The released ``args`` dict of these options (decode.json records it)."""
        return {key: getattr(self, name) for name, key in self.released_keys().items()}


# The fields' annotations (strings under ``from __future__ import annotations``) as types.
FIELD_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def _coerce(key: str, value: Any, annotation: str) -> Any:
    """A dict value as the field's type (the released scripts pass ints for flags)."""
    try:
        return FIELD_TYPES[annotation](value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"decoding option {key}: expected {annotation}, got {value!r}") from e


@dataclass(frozen=True)
class AedDecodeOptions(_ReleasedNames, BeamSearchConfig):
    """The AED's options: the search's (:class:`BeamSearchConfig`) plus fusion, timestamps and
    where it runs."""

    elm_dir: str = ""
    return_timestamp: bool = False
    use_gpu: bool = False
    bf16: bool = False

    RELEASED_KEYS: ClassVar[Dict[str, str]] = {"length_penalty": "aed_length_penalty",
                                               "rescoring_ctc_weight": "ctc_weight"}
    PAPER: ClassVar[Dict[str, Any]] = {"beam_size": 3, "softmax_smoothing": 1.25,
                                       "aed_length_penalty": 0.6}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.elm_weight > 0.0 and not self.elm_dir:
            raise ValueError(f"elm_weight={self.elm_weight} needs elm_dir (an external LM "
                             "folder)")
        if self.elm_weight > 0.0 and self.decode_mode not in ATTENTION_SEARCH_MODES:
            # The LM scores the attention search's steps; other modes would ignore it.
            raise ValueError(f"an external LM (elm_weight={self.elm_weight}) fuses with the "
                             f"attention searches ({', '.join(ATTENTION_SEARCH_MODES)}), not "
                             f"decode_mode {self.decode_mode}")

    @property
    def needs_ctc(self) -> bool:
        """Whether these options read the CTC head (a CTC mode or timestamps)."""
        return self.return_timestamp or self.decode_mode != "attention"

    @property
    def fuses_elm(self) -> bool:
        return self.elm_weight > 0.0


@dataclass(frozen=True)
class LlmDecodeOptions(_ReleasedNames):
    """The LLM's options: Hugging Face ``generate()`` settings, and where it runs."""

    beam_size: int = 1
    decode_max_len: int = 0      # 0: as many new tokens as speech embeddings
    decode_min_len: int = 0
    repetition_penalty: float = 1.0
    length_penalty: float = 0.0
    temperature: float = 1.0
    use_gpu: bool = False
    bf16: bool = False

    RELEASED_KEYS: ClassVar[Dict[str, str]] = {"length_penalty": "llm_length_penalty"}
    PAPER: ClassVar[Dict[str, Any]] = {"beam_size": 3, "repetition_penalty": 3.0,
                                       "llm_length_penalty": 1.0}

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        for name in ("repetition_penalty", "temperature"):
            if getattr(self, name) <= 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def generation_kwargs(self) -> Dict[str, Any]:
        """The keyword arguments of ``FireRedAsrLlm.transcribe``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in RUNTIME_FIELDS}


DecodeOptions = Union[AedDecodeOptions, LlmDecodeOptions]
OPTIONS_BY_FAMILY: Dict[str, Type] = {"aed": AedDecodeOptions, "llm": LlmDecodeOptions}
ALL_RELEASED_KEYS = frozenset(k for cls in OPTIONS_BY_FAMILY.values()
                              for k in cls.released_keys().values())


def decode_options(family: str, args: Union[None, Mapping[str, Any], DecodeOptions] = None,
                   base: Optional[DecodeOptions] = None) -> DecodeOptions:
    """The ``family``'s ("aed" or "llm") options from a released dict or an options object
    (checked to be of the family), on top of ``base``."""
    cls = OPTIONS_BY_FAMILY[family]
    if isinstance(args, (AedDecodeOptions, LlmDecodeOptions)):
        if not isinstance(args, cls):
            raise ValueError(f"{type(args).__name__} given to an {family.upper()} model; it "
                             f"takes {cls.__name__}")
        return args
    return cls.from_dict(args, base)


def add_decoding_arguments(parser: argparse.ArgumentParser, paper_defaults: bool) -> None:
    """Register every decoding flag (released names) in per-family groups. With
    ``paper_defaults`` the flags default to None, meaning "the paper's setting" (see
    :func:`options_from_flags`); otherwise they show the plain defaults."""
    groups = {"both": parser.add_argument_group("decoding (AED and LLM)"),
              "aed": parser.add_argument_group("FireRedASR-AED / FireRedASR2 decoding"),
              "llm": parser.add_argument_group("FireRedASR-LLM decoding")}
    keys = {family: cls.released_keys() for family, cls in OPTIONS_BY_FAMILY.items()}
    shared = set(keys["aed"].values()) & set(keys["llm"].values())
    seen = set()
    for family, cls in OPTIONS_BY_FAMILY.items():
        defaults = cls()
        for f in dataclasses.fields(cls):
            key = keys[family][f.name]
            if key in seen or f.name in RUNTIME_FIELDS:
                continue
            seen.add(key)
            # A boolean is a 0/1 flag, as in the released scripts.
            kind = int if f.type == "bool" else FIELD_TYPES[f.type]
            default = None if paper_defaults else kind(getattr(defaults, f.name))
            extra = {"choices": DECODE_MODES} if f.name == "decode_mode" else {}
            help_text = HELP[key] + (" (default: the paper's setting)" if paper_defaults else "")
            groups["both" if key in shared else family].add_argument(
                f"--{key}", type=kind, default=default, help=help_text, **extra)


def options_from_flags(family: str, ns: argparse.Namespace, base: DecodeOptions,
                       **runtime: Any) -> Tuple[DecodeOptions, Dict[str, Any]]:
    """(options, the flags given that belong to the other family) from parsed flags: ``base``
    overridden by each flag of the family that is set, then by ``runtime`` (use_gpu, bf16)."""
    cls = OPTIONS_BY_FAMILY[family]
    mine = set(cls.released_keys().values())
    given = {k: getattr(ns, k) for k in ALL_RELEASED_KEYS
             if getattr(ns, k, None) is not None}
    other = {k: v for k, v in given.items() if k not in mine}
    opts = cls.from_dict({k: v for k, v in given.items() if k in mine}, base)
    return dataclasses.replace(opts, **runtime), other
