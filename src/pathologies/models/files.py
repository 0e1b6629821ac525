"""Checks of a model folder's files, each failure one line naming the file and what is wrong.

Damaged weights (a truncated ``model.safetensors``, a ``pytorch_model.bin`` that is not a
checkpoint), a ``config.json`` that is not JSON, a folder without tokenizer files, weights of
another shape: all become :class:`~pathologies.text.InputError` instead of a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..text import InputError

#: Files of which a Hugging Face tokenizer needs at least one.
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "sentencepiece.model",
    "bpe.codes",
    "vocab.model",
)
HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def first_line(err: BaseException | str, limit: int = 200) -> str:
    """The first non-empty line of an error message, shortened."""
    text = str(err).strip()
    line = next((l.strip() for l in text.splitlines() if l.strip()), type(err).__name__ if not isinstance(err, str) else "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def read_json(path: Path, what: str) -> Any:
    """The JSON in ``path``; InputError naming the file when it is missing or not JSON."""
    if not path.is_file():
        raise InputError(f"{path}: missing ({what})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file ({what}); the file is damaged") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}); the file is damaged") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None


def check_safetensors(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes in a safetensors file's header; InputError if the file is damaged."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as err:  # SafetensorError, OSError, ...: the file cannot be read
        size = path.stat().st_size if path.exists() else 0
        raise InputError(
            f"{path}: damaged or truncated safetensors file ({size} bytes; {first_line(err)}); copy or save the model again"
        ) from None
    return shapes


def check_hf_folder(path: Path) -> None:
    """What a local Hugging Face model folder must hold, checked before anything is loaded."""
    if path.is_file():
        raise InputError(f"{path}: a model is a folder (config.json, weights, tokenizer files), not a file")
    config = read_json(path / "config.json", "the model's config.json")
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.json'}: expected a JSON object, got {type(config).__name__}")
    if "model_type" not in config and "architectures" not in config:
        raise InputError(f"{path / 'config.json'}: no model_type; not a Hugging Face model config")
    weights = [path / name for name in HF_WEIGHTS if (path / name).is_file()]
    if not weights:
        raise InputError(f"{path}: no weights file ({', '.join(HF_WEIGHTS[::2])})")
    if weights[0].name == "model.safetensors":
        check_safetensors(weights[0])
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise InputError(
            f"{path}: no tokenizer files (one of {', '.join(TOKENIZER_FILES[:4])}, ...); "
            "save the tokenizer with the model (tokenizer.save_pretrained)"
        )


def hf_weights_file(path: Path) -> Path | None:
    """The weights file of a local HF folder, for error messages."""
    return next((path / n for n in HF_WEIGHTS if (path / n).is_file()), None)
