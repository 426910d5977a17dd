"""The released import path of the transcription API (``fireredasr.models.fireredasr.FireRedAsr``).

An alias for scripts written against the released code; nothing in the toolkit imports it, so
the models package itself still never depends on ``decode``."""
from fireredasr.decode.api import FireRedAsr

__all__ = ["FireRedAsr"]
