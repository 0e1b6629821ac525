"""Classifiers behind one protocol, and ``load_classifier`` for any of them."""

from __future__ import annotations

from pathlib import Path

from ..text import InputError
from .base import (
    PAD_WORD,
    UNK_WORD,
    ZERO_WORD,
    Classifier,
    DroppedWordsWarning,
    Encoded,
    Representations,
    TokenGradients,
    TorchClassifier,
)
from .cnn import TextCNN
from .files import read_json
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
    device = resolve_device(device)
    _check_device(device)
    path = Path(path_or_name).expanduser()
    config = path / CONFIG_FILE
    if config.is_file():
        settings = read_json(config, "the model's family and labels")
        family = settings.get("family") if isinstance(settings, dict) else None
        if not isinstance(settings, dict) or not isinstance(family, str):
            raise InputError(f"{config}: expected a JSON object with a \"family\" (textcnn, bilstm or hf)")
        if family in NATIVE:
            return NATIVE[family].load(path, device=device)
        if family != "hf":
            raise InputError(f"{config}: unknown model family {family!r} (textcnn, bilstm or hf)")
    return HFClassifier.load(str(path_or_name), device=device, trust_remote_code=trust_remote_code)


def resolve_device(name: str) -> str:
    """``auto``: CUDA where present, else CPU; any other name as it is."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _check_device(device: str) -> None:
    """A clear error for a device name torch does not know or a GPU that is not there."""
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError, TypeError):
        raise InputError(f"unknown device {device!r}: use cpu, cuda, cuda:N (or auto on the command line)") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but CUDA is not available here; use --device cpu")
    index = torch.device(device).index
    if kind == "cuda" and index is not None and index >= torch.cuda.device_count():
        raise InputError(f"device {device!r} asked for, but there are {torch.cuda.device_count()} CUDA devices")


__all__ = [
    "BiLSTM",
    "Classifier",
    "DroppedWordsWarning",
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
    "resolve_device",
    "InputError",
]
