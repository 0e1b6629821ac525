"""Provenance of a run: what was audited, with what, where and when.

The manifest says which model (family, source and a content hash of weights, config and
tokenizer or vocabulary), which data (spec and a content hash of the examples), which
methods and metrics with their settings, seeds, device and versions, and what was cut. A
run resumes only under the same identity: :func:`differences` names what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..text import Example

FORMAT_VERSION = 1

#: Files that make a model what it is (weights, config, tokenizer or vocabulary).
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model", ".pt", ".pth")


def toolkit_version() -> str:
    try:
        from importlib.metadata import version

        return version("pathologies")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def _digest_files(files: Iterable[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def path_digest(path: str | Path, suffixes: Sequence[str] | None = None) -> str:
    """Content hash of a file, or of a folder's files (names and bytes), recursively."""
    path = Path(path)
    if path.is_file():
        return _digest_files([path], path.parent)
    files = [f for f in path.rglob("*") if f.is_file() and (suffixes is None or f.suffix in suffixes)]
    return _digest_files(files, path)


def model_identity(source: str | None, model) -> dict[str, Any]:
    """Family, source and content hash of a classifier.

    A local folder is hashed by its files (weights, config, tokenizer / vocabulary); a model
    from the hub or in memory by its weights and labels.
    """
    family = getattr(model, "family", type(model).__name__)
    if source is not None and Path(source).expanduser().is_dir():
        digest = path_digest(Path(source).expanduser(), MODEL_FILE_SUFFIXES)
        where = str(Path(source).expanduser().resolve())
    else:
        h = hashlib.sha256(json.dumps(list(model.labels)).encode())
        for name, tensor in sorted(model.module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        digest = h.hexdigest()
        where = source or "in memory"
    return {"family": family, "source": where, "sha256": digest, "labels": list(model.labels)}


def resource_identity(resource: Any) -> dict[str, Any] | None:
    """A masked LM or DkNN index given by path (hashed) or as an object (named)."""
    if resource is None:
        return None
    if isinstance(resource, (str, Path)) and Path(resource).exists():
        return {"path": str(Path(resource).resolve()), "sha256": path_digest(resource)}
    path = getattr(resource, "path_", None) or getattr(resource, "name", None)
    return {"path": str(path) if path else type(resource).__name__, "sha256": None}


def data_identity(spec: str | None, examples: Sequence[Example]) -> dict[str, Any]:
    """The data spec and a content hash of the examples, in order (words, segments, labels, tags, uids)."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps(ex.to_dict(), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return {"spec": spec, "examples": len(examples), "sha256": h.hexdigest()}


def environment(device: str) -> dict[str, Any]:
    import torch

    return {
        "toolkit": toolkit_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": f"{socket.gethostname()} ({platform.machine()}, {os.cpu_count()} cores)",
        "device": device,
        "threads": torch.get_num_threads(),
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


#: Where a thing was found, not what it is: not compared when a content hash is there.
WHERE_ONLY = ("source", "path", "spec")

#: Manifest entries that make records comparable; a resume must match them all.
IDENTITY = ("format", "model", "data", "spec", "resources", "seed_rule", "device")


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two manifests in the entries that make records comparable."""
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            hashed = a.get("sha256") is not None and b.get("sha256") is not None
            for k in sorted(set(a) | set(b)):
                if hashed and k in WHERE_ONLY:
                    continue  # the content hash decides; a moved folder is the same model or data
                walk(a.get(k), b.get(k), f"{where}.{k}" if where else k)
        elif a != b:
            out.append(f"{where}: {_short(a)} in the run, {_short(b)} now")

    for key in IDENTITY:
        old_v = old.get(key) if key != "device" else old.get("environment", {}).get("device")
        new_v = new.get(key) if key != "device" else new.get("environment", {}).get("device")
        walk(old_v, new_v, key)
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a content hash
    return text if len(text) <= 60 else text[:57] + "..."
