"""Classifiers behind one protocol, and ``load_classifier`` for any of them."""

from __future__ import annotations

import json
from pathlib import Path

from ..text import InputError
from .base import (
    PAD_WORD,
    UNK_WORD,
    ZERO_WORD,
    Classifier,
    Encoded,
    Representations,
    TokenGradients,
    TorchClassifier,
)
from .cnn import TextCNN
from .hf import HFClassifier
from .lstm import BiLSTM
from .native import CONFIG_FILE, NativeClassifier

NATIVE = {"textcnn": TextCNN, "bilstm": BiLSTM}


def load_classifier(
    path_or_name: str | Path, *, device: str = "cpu", trust_remote_code: bool = False
) -> TorchClassifier:
    """Load a TextCNN / BiLSTM folder written by this toolkit, or any HF sequence classifier.

    ``path_or_name`` is a directory or a Hugging Face hub name. Remote code from the hub runs
    only when ``trust_remote_code`` is set.
    """
    path = Path(path_or_name).expanduser()
    config = path / CONFIG_FILE
    if config.is_file():
        family = json.loads(config.read_text()).get("family")
        if family in NATIVE:
            return NATIVE[family].load(path, device=device)
    return HFClassifier.load(str(path_or_name), device=device, trust_remote_code=trust_remote_code)


__all__ = [
    "BiLSTM",
    "Classifier",
    "Encoded",
    "HFClassifier",
    "NativeClassifier",
    "PAD_WORD",
    "Representations",
    "TextCNN",
    "TokenGradients",
    "TorchClassifier",
    "UNK_WORD",
    "ZERO_WORD",
    "load_classifier",
    "InputError",
]
