"""The released import path of the transcription API (``fireredasr.models.fireredasr.FireRedAsr``)."""
from fireredasr.decode.api import FireRedAsr

__all__ = ["FireRedAsr"]
