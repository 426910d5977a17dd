"""Install the FireRedASR training and evaluation toolkit: ``pip install -e '.[test]'``."""
from setuptools import find_packages, setup

# Exact pins: the torch/torchaudio pair must match (torchaudio wheels are built against the
# CUDA-enabled torch and do not import beside a CPU-only build; torch 2.14.1 runs on CPU too).
INSTALL_REQUIRES = [
    "torch==2.14.1",
    "torchaudio==2.11.0",
    "numpy==2.4.6",
    "deepspeed==0.19.8",
    "transformers==5.24.0",
    "peft==0.21.2",
    "sentencepiece==0.2.3",
    "kaldiio==2.18.1",
    "kaldi-native-fbank==1.23.0",
    "soundfile==0.14.0",
    "hydra-core==1.3.8",
    "tensorboard==2.21.0",
    "jiwer==4.0.0",
    "cn2an==0.5.24",
    "matplotlib==3.10.9",
    # recipes/mini: espeak-ng (library + data in the wheel), pinyin readings, jieba's word list
    "espeakng-loader==0.2.4",
    "pypinyin==0.55.0",
    "jieba==0.42.1",
    # deployment: ONNX export (TorchScript exporter), int8 quantization, decoding the export
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
]

setup(
    name="fireredasr",
    version="0.1.0",
    description="Training, fine-tuning and evaluation recipes for FireRedASR-AED and FireRedASR-LLM",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["fireredasr", "fireredasr.*"]),
    install_requires=INSTALL_REQUIRES,
    # sherpa-onnx: the tests decode the ONNX export with sherpa-onnx itself.
    extras_require={"test": ["pytest==9.2.0", "sherpa-onnx==2.0.1"]},
    entry_points={
        "console_scripts": [
            "fireredasr-transcribe=fireredasr.bin.transcribe:main",
            "fireredasr-compute-fbank=fireredasr.bin.compute_fbank:main",
            "fireredasr-build-tokenizer=fireredasr.bin.build_tokenizer:main",
            "fireredasr-data-dir=fireredasr.bin.data_dir:main",
            "fireredasr-decode=fireredasr.bin.decode:main",
            "fireredasr-score=fireredasr.bin.score:main",
            "fireredasr-results=fireredasr.bin.results_table:main",
            "fireredasr-train-aed=fireredasr.bin.train_aed:main",
            "fireredasr-export-aed=fireredasr.bin.export_aed:main",
            "fireredasr-train-llm=fireredasr.bin.train_llm:main",
            "fireredasr-export-llm=fireredasr.bin.export_llm:main",
            "fireredasr-train-lm=fireredasr.bin.train_lm:main",
            "fireredasr-export-lm=fireredasr.bin.export_lm:main",
            "fireredasr-sweep-elm-weight=fireredasr.bin.sweep_elm_weight:main",
            "fireredasr-export-onnx=fireredasr.bin.export_onnx:main",
        ],
    },
)
