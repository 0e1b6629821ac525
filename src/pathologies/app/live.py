"""Live checks: the models the app was started with, checked through the audit's trust step.

A live check is :func:`pathologies.audit.audit` with :func:`pathologies.audit.check_spec` on
one example, in memory: the same records (attributions, reductions, the trust card) that
``pathologies check --out`` stores, so the pages render them with the run views. The audit
computes each chunk through a fresh scoring engine (so records never depend on what was
scored before); what stays warm across requests is the loaded model, the masked LM, the
DkNN index, and the records of recent checks (a small LRU keyed by model, input, methods and
beam), so going back, editing one word and undoing it cost nothing.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..report.colors import word_cells
from ..text import Example, InputError

#: The longest text a live check takes (characters): a local app, not a batch job.
MAX_CHARS = 5000
#: Reduction choices of the form: beam width (0: no reduction test).
BEAMS = ((0, "none"), (1, "greedy"), (2, "beam 2"), (5, "beam 5"))


@dataclass
class LiveModel:
    key: int
    name: str
    source: str
    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def family(self) -> str:
        return str(getattr(self.model, "family", type(self.model).__name__))

    @property
    def labels(self) -> str:
        return ", ".join(self.model.labels)


class Live:
    """The loaded models (and masked LM / DkNN index) and the cache of recent checks."""

    def __init__(self, models: Sequence[tuple[str, Any]], *, mlm=None, index=None, cache_size: int = 128):
        self.models = [LiveModel(i, Path(src).name or src, src, m) for i, (src, m) in enumerate(models)]
        self.mlm, self.index = mlm, index
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, dict[str, list[dict[str, Any]]]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(cls, sources: Sequence[str], *, mlm: str | None = None, index: str | None = None, device: str = "cpu") -> "Live":
        """Load model folders (and a masked LM / DkNN index folder) once, at start-up."""
        from ..dknn import DkNN  # function-level: torch only when the app has models
        from ..models import load_classifier
        from ..models.mlm import load_mlm

        models = [(str(s), load_classifier(s, device=device)) for s in sources]
        return cls(models, mlm=load_mlm(mlm, device=device) if mlm else None, index=DkNN.load(index) if index else None)

    def methods(self) -> list[str]:
        """The registered attribution methods this app can run (what they need is loaded)."""
        from ..attribution.registry import REGISTRY

        have = {n for n, v in (("mlm", self.mlm), ("index", self.index)) if v is not None}
        return [name for name, info in REGISTRY.items() if set(info.needs) <= have]

    def model(self, key: int) -> LiveModel:
        if not 0 <= key < len(self.models):
            raise InputError(f"no model {key}; this app has {len(self.models)} (0 to {len(self.models) - 1})")
        return self.models[key]

    def check(
        self, key: int, example: Example, methods: Sequence[str], beam: int, target: int | None = None
    ) -> tuple[dict[str, list[dict[str, Any]]], float, bool]:
        """The records of a trust check of ``example`` by model ``key``; seconds taken; whether
        cached. ``target``: attribute toward this class instead of the predicted one."""
        lm = self.model(key)
        ck = (key, example.words, example.fixed, example.fixed_first, tuple(methods), beam, target)
        with self._cache_lock:
            if ck in self._cache:
                self._cache.move_to_end(ck)
                return self._cache[ck], 0.0, True
        from ..audit import audit  # function-level: torch only when the app has models
        from ..audit.checking import check_spec

        spec = check_spec(methods, beam=beam or None, mlm=self.mlm is not None, index=self.index is not None)
        spec.target = target
        start = time.perf_counter()
        with lm.lock:  # one check at a time per model
            run = audit(lm.model, [example], None, spec=spec, model_source=lm.source, mlm=self.mlm, index=self.index,
                        show_progress=False)
        seconds = time.perf_counter() - start
        records = {k: run.records[k] for k in ("attributions", "metrics", "reductions", "trust")}
        with self._cache_lock:
            self._cache[ck] = records
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return records, seconds, False


def make_example(text: str, premise: str, hypothesis: str, pair: bool) -> Example | None:
    """The example of the live form (None when nothing was typed yet)."""
    for what, value in (("text", text), ("premise", premise), ("hypothesis", hypothesis)):
        if len(value) > MAX_CHARS:
            raise InputError(f"{what}: at most {MAX_CHARS} characters in a live check, not {len(value)}")
    if pair:
        if not premise.strip() and not hypothesis.strip():
            return None
        if not premise.strip() or not hypothesis.strip():
            raise InputError("a sentence pair needs both a premise and a hypothesis")
        return Example.pair(premise, hypothesis, uid="#0")
    if not text.strip():
        return None
    return Example.from_text(text, uid="#0")


def diff_rows(before: dict[str, dict], after: dict[str, dict], methods: Sequence[str]) -> tuple[list[dict[str, Any]], str]:
    """What moved between two heatmaps of each method: the edited words coloured by the change
    of their score (a new or changed word: its whole score, outlined), and the words gone."""
    rows = []
    gone: list[str] = []
    for m in methods:
        if m not in before or m not in after:
            continue
        a, b = before[m], after[m]
        delta = list(b["scores"])
        changed = set(range(len(b["words"])))
        ops = difflib.SequenceMatcher(a=a["words"], b=b["words"], autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    delta[j] = b["scores"][j] - a["scores"][i]
                    changed.discard(j)
            elif m == methods[0] and tag in ("delete", "replace"):
                gone += a["words"][i1:i2]
        cells = word_cells(b["words"], delta)
        for j in changed:
            cells[j]["marked"] = True
        rows.append({"method": m, "cells": cells})
    return rows, " ".join(gone)
