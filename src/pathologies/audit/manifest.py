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
#: Manifest formats this toolkit reads; any other is refused (it may mean other records).
KNOWN_FORMATS = (1,)

#: Files that make a model what it is (weights, config, tokenizer or vocabulary).
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model", ".pt", ".pth")


def toolkit_version() -> str:
    try:
        from importlib.metadata import version

        return version("pathologies")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


#: Folder digests by (folder, the files' names, sizes and modification times): a model folder
#: audited again in the same process (an app's live checks) is not read and hashed again;
#: any change to a file changes its size or time and so the key.
_DIGESTS: dict[tuple, str] = {}


def _digest_files(files: Iterable[Path], root: Path) -> str:
    files = sorted(files)
    stats = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    key = (str(root.resolve()), stats)
    if key not in _DIGESTS:
        if len(_DIGESTS) > 64:
            _DIGESTS.clear()
        _DIGESTS[key] = _hash_files(files, root)
    return _DIGESTS[key]


def _hash_files(files: Sequence[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def path_digest(path: str | Path, suffixes: Sequence[str] | None = None) -> str:
    """Content hash of a file (its bytes: ``sha256sum`` gives the same; its name is where it
    is, not what it is), or of a folder's files (names relative to it, and bytes), recursively."""
    path = Path(path)
    if path.is_file():
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    files = [f for f in path.rglob("*") if f.is_file() and (suffixes is None or f.suffix in suffixes)]
    return _digest_files(files, path)


def model_identity(source: str | None, model) -> dict[str, Any]:
    """Family, source and content hash of a classifier (or a QA model, which has no labels).

    A local folder is hashed by its files (weights, config, tokenizer / vocabulary); a model
    from the hub or in memory by its weights and labels.
    """
    family = getattr(model, "family", type(model).__name__)
    labels = getattr(model, "labels", None) or None  # a QA model has none: its prediction is a span
    if source is not None and Path(source).expanduser().is_dir():
        digest = path_digest(Path(source).expanduser(), MODEL_FILE_SUFFIXES)
        where = str(Path(source).expanduser().resolve())
    else:
        h = hashlib.sha256(json.dumps(list(labels)).encode() if labels is not None else b"")
        for name, tensor in sorted(model.module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        digest = h.hexdigest()
        where = source or "in memory"
    out = {"family": family, "source": where, "sha256": digest}
    if labels is not None:
        out["labels"] = list(labels)
    return out


def resource_identity(resource: Any, loaded: Any = None, suffixes: Sequence[str] | None = None) -> dict[str, Any] | None:
    """A masked LM, DkNN index or imported-scores file: where it is and a content hash.

    Given by path (a folder or file that exists): the hash of its files. Otherwise (a hub
    name, or an object) the hash of the loaded object's content (``loaded``, else
    ``resource`` itself): a masked LM's weights and vocabulary, a DkNN index's vectors, labels,
    calibration and settings. An object of another kind is named only (no hash).
    ``suffixes``: only a folder's files with these endings (a masked LM: weights, config and
    tokenizer, as the model's; an index: every file).
    """
    if resource is None:
        return None
    if isinstance(resource, (str, Path)) and Path(resource).exists():
        return {"path": str(Path(resource).resolve()), "sha256": path_digest(resource, suffixes)}
    obj = loaded if loaded is not None else resource
    if isinstance(resource, (str, Path)):
        where = str(resource)
    else:
        where = getattr(obj, "path_", None) or getattr(obj, "name", None) or type(obj).__name__
        if getattr(obj, "path_", None) and Path(obj.path_).is_dir():
            return {"path": str(Path(obj.path_).resolve()), "sha256": path_digest(obj.path_)}
    return {"path": str(where), "sha256": object_digest(obj)}


def object_digest(obj: Any) -> str | None:
    """Content hash of a loaded masked LM (weights and vocabulary) or DkNN index; None for
    anything else."""
    h = hashlib.sha256()
    module = getattr(obj, "model", None)
    if module is not None and hasattr(module, "state_dict"):
        for name, tensor in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        tokenizer = getattr(obj, "tokenizer", None)
        if tokenizer is not None and hasattr(tokenizer, "get_vocab"):
            h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
        return h.hexdigest()
    if hasattr(obj, "indexes_"):  # a fitted DkNN index
        import faiss  # function-level: faiss only where an in-memory index is hashed

        h.update(json.dumps([obj.k, obj.metric, obj.layers_, obj.label_names_], default=str).encode())
        for name in obj.layers_:
            h.update(name.encode() + bytes(faiss.serialize_index(obj.indexes_[name])))
        h.update(obj.train_labels_.tobytes())
        if obj.calibration_ is not None:
            h.update(obj.calibration_.tobytes())
        return h.hexdigest()
    return None


def data_identity(spec: str | None, examples: Sequence[Example]) -> dict[str, Any]:
    """The data spec and a content hash of the examples, in order (words, segments, labels, tags,
    uids; for QA items: question, context, answers), anything with a ``to_dict``."""
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

#: Manifest entries that make records comparable; a resume must match them all. Exactly what
#: changes the records: the executor, threads, machine, dates and versions are recorded but not
#: compared (``report`` view settings such as its ``--show`` never reach the manifest).
IDENTITY = ("format", "task", "model", "data", "spec", "resources", "seed_rule", "trust_thresholds", "device")


def check_format(manifest: Any, where: str | Path) -> dict[str, Any]:
    """The manifest, if its format is one this toolkit knows; else one-line :class:`InputError`."""
    from ..text import InputError

    if not isinstance(manifest, dict):
        raise InputError(f"{where} is not a run manifest (a JSON object was expected); run the audit again into a new folder")
    fmt = manifest.get("format")
    if type(fmt) is not int or fmt not in KNOWN_FORMATS:
        known = ", ".join(map(str, KNOWN_FORMATS))
        shown = "no format" if fmt is None else f"format {json.dumps(fmt)}"
        raise InputError(
            f"{where} has {shown}, which pathologies {toolkit_version()} does not know (it reads format {known}); "
            "open it with the toolkit version that wrote it, or run the audit again into a new folder"
        )
    return manifest


def executor_identity(executor: Any = None) -> dict[str, Any]:
    """Where the chunks were computed (recorded, not part of the identity: it does not change
    the records)."""
    if executor is None:
        import torch

        return {"kind": "local", "workers": 1, "threads": torch.get_num_threads()}
    describe = getattr(executor, "describe", None)
    return describe() if callable(describe) else {"kind": type(executor).__name__}


def _comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with where-only entries a content hash stands for made neutral: an
    imported-scores file is compared by its hash (``resources.imports``), not by its path in
    ``spec.imports``."""
    spec = manifest.get("spec")
    imports = (manifest.get("resources") or {}).get("imports") or {}
    if isinstance(spec, dict) and isinstance(spec.get("imports"), dict):
        hashed = {n for n, v in imports.items() if isinstance(v, dict) and v.get("sha256")}
        if hashed and hashed == set(spec["imports"]):
            manifest = dict(manifest, spec=dict(spec, imports=sorted(spec["imports"])))
    return manifest


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two manifests in the entries that make records comparable."""
    out: list[str] = []
    old, new = _comparable(old), _comparable(new)

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            hashed = a.get("sha256") is not None and b.get("sha256") is not None
            for k in sorted(set(a) | set(b)):
                if hashed and k in WHERE_ONLY:
                    continue  # the content hash decides; a moved folder is the same model or data
                walk(a.get(k), b.get(k), f"{where}.{k}" if where else k)
        elif a != b:
            out.append(f"{where}: {_short(a)} in the run, {_short(b)} now")

    def entry(m: dict[str, Any], key: str) -> Any:
        if key == "device":
            return m.get("environment", {}).get("device")
        if key == "task":  # a classifier run's manifest has none
            return m.get("task", "classify")
        return m.get(key)

    for key in IDENTITY:
        walk(entry(old, key), entry(new, key), key)
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a content hash
    return text if len(text) <= 60 else text[:57] + "..."
