"""QA run folders: explain or reduce a SQuAD-format data set into a folder that resumes.

```
OUT/manifest.json                what was run: kind, model (source, content hash, window
                                 settings), data (spec, content hash, count), settings, versions
OUT/records/qa_attributions.jsonl  (explain) one QAAttribution a line
OUT/records/qa_reductions.jsonl    (reduce)  one QAReduction a line
OUT/summary.json                 the data-set summary
```

Questions are computed ``chunk`` at a time, each chunk with a fresh engine and written
together, so a run stopped between chunks resumes into the records of an uninterrupted run.
A folder made with another model, data or settings is refused with one line naming the
difference.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from ..data.squad import QAItem, exact_match, f1_score
from ..models.qa import QAModel
from ..progress import progress_bar
from ..runs import JsonlRun
from ..text import InputError
from .engine import QAEngine
from .explain import as_items, explain_qa
from .records import QAAttribution, QAReduction, summarize_qa
from .reduction import QAReducer

FORMAT = "pathologies-qa-run/1"
RECORDS = {"explain": "qa_attributions.jsonl", "reduce": "qa_reductions.jsonl"}
_MODEL_FILES = (".safetensors", ".bin", ".json", ".txt", ".model")


def model_digest(model: QAModel, source: str | None) -> dict[str, Any]:
    """Source and content hash of a QA model (a local folder's files, else its weights)."""
    h = hashlib.sha256()
    local = Path(source).expanduser() if source else None
    if local is not None and local.is_dir():
        for f in sorted(p for p in local.rglob("*") if p.is_file() and p.suffix in _MODEL_FILES):
            h.update(str(f.relative_to(local)).encode() + b"\0" + f.read_bytes())
        where = str(local.resolve())
    else:
        for name, tensor in sorted(model.module.state_dict().items()):
            h.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        where = source or "in memory"
    return {
        "family": model.family, "source": where, "sha256": h.hexdigest(),
        "max_length": model.max_length, "stride": model.stride,
        "max_answer_words": model.max_answer_words, "null_answer": model.null_answer,
    }


def data_digest(items: Sequence[QAItem]) -> str:
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps(it.to_dict(), sort_keys=True).encode() + b"\n")
    return h.hexdigest()


def _identity(manifest: dict) -> dict:
    return {"kind": manifest["kind"], "model": manifest["model"], "data": manifest["data"], "settings": manifest["settings"]}


def _first_difference(old: Any, new: Any, where: str = "") -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            d = _first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else key)
            if d:
                return d
        return None
    return None if old == new else f"{where}: {old!r} in the run, {new!r} now"


def run_qa(
    model: QAModel,
    data: Any,
    out: str | Path,
    *,
    kind: str = "explain",
    method: str = "gradient",
    beam: int = 1,
    k: int = 5,
    chunk: int = 32,
    model_source: str | None = None,
    data_spec: str | None = None,
    show_progress: bool = False,
    seed: int = 0,
) -> list[QAAttribution] | list[QAReduction]:
    """Explain (``kind="explain"``, ``method``) or reduce (``kind="reduce"``, importance
    ``method``, ``beam``, ``k``) every question of ``data`` into the run folder ``out``."""
    if kind not in RECORDS:
        raise InputError(f"kind must be explain or reduce, not {kind!r}")
    items = as_items(data)
    out = Path(out)
    settings: dict[str, Any] = {"method": method, "chunk": chunk}
    if kind == "reduce":
        settings.update(beam=beam, k=1 if beam == 1 else k, seed=seed)
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "model": model_digest(model, model_source),
        "data": {"spec": data_spec, "sha256": data_digest(items), "questions": len(items)},
        "settings": settings,
    }
    path = out / "manifest.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError:
            raise InputError(f"{path}: not valid JSON; the run folder is damaged") from None
        if old.get("format") != FORMAT:
            raise InputError(f"{out}: not a QA run folder (format {old.get('format')!r})")
        diff = _first_difference(_identity(old), _identity(manifest))
        if diff:
            raise InputError(f"{out} was made with other settings ({diff}); use another --out")
    else:
        import torch
        import transformers

        from .. import __version__

        out.mkdir(parents=True, exist_ok=True)
        manifest.update(
            toolkit=__version__, torch=torch.__version__, transformers=transformers.__version__,
            device=str(model.device), python=platform.python_version(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        path.write_text(json.dumps(manifest, indent=2))
    run = JsonlRun(out / "records" / RECORDS[kind])
    chunks = run.pending_chunks(items, chunk)  # type: ignore[arg-type]
    with progress_bar(f"qa {kind}", sum(map(len, chunks)), show_progress) as advance:
        for part in chunks:
            engine = QAEngine(model)  # fresh per chunk: records never depend on where a run stopped
            if kind == "explain":
                records = explain_qa(model, part, method, engine=engine)
            else:
                records = QAReducer(model, importance=method, beam=beam, k=k, engine=engine, random_seed=seed).reduce(part)
            run.append(r.to_dict() for r in records)
            advance(len(part))
    if kind == "explain":
        results: list = [QAAttribution.from_dict(r) for r in run.records]
        summary = {
            "questions": len(results),
            "method": method,
            "target": results[0].target if results else None,
            "mean_span_probability": sum(a.probability for a in results) / max(1, len(results)),
            "exact_match": sum(exact_match(a.answer, a.gold) for a in results) / max(1, len(results)),
            "f1": sum(f1_score(a.answer, a.gold) for a in results) / max(1, len(results)),
        }
    else:
        results = [QAReduction.from_dict(r) for r in run.records]
        summary = summarize_qa(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return results
