"""The file names of the released FireRedASR model folders, in one place.

    AED folder (FireRedASR-AED, FireRedASR2-AED):  model.pth.tar  cmvn.ark  dict.txt
                                                   train_bpe1000.model
    LLM folder (FireRedASR-LLM):                   model.pth.tar  asr_encoder.pth.tar  cmvn.ark
                                                   Qwen2-7B-Instruct/
    external LM folder (FireRedASR2's elm/):       model.pth.tar

The released loaders look these names up literally, so the toolkit writes them whatever the
model's size or BPE vocabulary (the BPE model keeps the name ``train_bpe1000.model``).
"""
from __future__ import annotations

MODEL = "model.pth.tar"
CMVN = "cmvn.ark"
DICT = "dict.txt"
BPE_MODEL = "train_bpe1000.model"
LLM_ENCODER = "asr_encoder.pth.tar"
LLM_SUBDIR = "Qwen2-7B-Instruct"

AED_FILES = (MODEL, CMVN, DICT, BPE_MODEL)
LLM_FILES = (MODEL, LLM_ENCODER, CMVN, LLM_SUBDIR)
