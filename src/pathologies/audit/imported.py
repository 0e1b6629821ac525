"""Attributions computed by another tool, scored with the toolkit's metrics.

The file is JSON lines, one object per example: ``uid``, ``words`` (the words of the
perturbable segment, as in the data) and ``scores`` (one number per word), optionally
``target`` (class name or index; default: the model's prediction). Words are checked
against the data; any difference is an error that names the line and the word.

Imported scores cannot score a changed input. Metrics that remove words (comprehensiveness,
sufficiency, AOPC, AUC_rep) use the imported ranking as it is; IR# and UR# keep the imported
ranking of the remaining words instead of re-ranking after each removal; I-Var and U-Var,
which need scores of the changed input, are not computed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from ..attribution import AttributionMethod
from ..data.labels import resolve_target
from ..text import Example, InputError


def _align(words: Sequence[str], original: Sequence[str]) -> list[int] | None:
    """Positions of ``words`` in ``original`` when it is a subsequence (earliest match)."""
    out, j = [], 0
    for w in words:
        while j < len(original) and original[j] != w:
            j += 1
        if j == len(original):
            return None
        out.append(j)
        j += 1
    return out


class ImportedScores(AttributionMethod):
    """Scores read from a file, looked up by uid."""

    def __init__(self, path: str | Path, name: str):
        self.path = str(path)
        self.name = name
        self._records: dict[str, dict[str, Any]] = {}
        self._load()

    def settings(self) -> dict[str, Any]:
        return {"imported_from": self.path}

    def _load(self) -> None:
        path = Path(self.path)
        if not path.is_file():
            raise InputError(f"--import {path}: no such file")
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError as err:
            raise InputError(f"--import {path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"--import {path}, line {n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{where}: not JSON ({err.msg})") from None
            if not isinstance(rec, dict) or not {"uid", "words", "scores"} <= set(rec):
                raise InputError(f"{where}: needs an object with uid, words and scores")
            words, scores = rec["words"], rec["scores"]
            if not isinstance(words, list) or not isinstance(scores, list) or len(words) != len(scores):
                raise InputError(f"{where}: words and scores must be lists of the same length")
            if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) for s in scores):
                raise InputError(f"{where}: every score must be a finite number")
            uid = str(rec["uid"])
            if uid in self._records:
                raise InputError(f"{where}: uid {uid!r} appears twice")
            self._records[uid] = {"words": [str(w) for w in words], "scores": [float(s) for s in scores], "target": rec.get("target"), "line": n}
        if not self._records:
            raise InputError(f"--import {path}: no records")

    def check(self, examples: Sequence[Example]) -> None:
        """Every example has imported scores for exactly its words."""
        missing = [ex.uid for ex in examples if str(ex.uid) not in self._records]
        if missing:
            raise InputError(
                f"--import {self.path}: no scores for {len(missing)} of {len(examples)} examples (first uid {missing[0]!r})"
            )
        for ex in examples:
            rec = self._records[str(ex.uid)]
            if list(ex.words) != rec["words"]:
                i = next((i for i, (a, b) in enumerate(zip(ex.words, rec["words"])) if a != b), min(len(ex.words), len(rec["words"])))
                data_w = ex.words[i] if i < len(ex.words) else "(end)"
                file_w = rec["words"][i] if i < len(rec["words"]) else "(end)"
                raise InputError(
                    f"--import {self.path}, line {rec['line']}: words of uid {ex.uid!r} differ from the data "
                    f"at word {i + 1} ({file_w!r} in the file, {data_w!r} in the data)"
                )

    def targets_for(self, model, examples: Sequence[Example]) -> list[int | None]:
        return [
            None if self._records[str(ex.uid)]["target"] is None
            else resolve_target(self._records[str(ex.uid)]["target"], model.labels, f"--import {self.path}: target")
            for ex in examples
        ]

    def attribute(self, model, examples, targets, engine):
        probs = engine.probabilities(examples)
        if targets is None:
            given = self.targets_for(model, examples)
            targets = [int(p.argmax()) if t is None else t for t, p in zip(given, probs)]
        return self.scores(model, examples, targets, engine), probs, list(targets)

    def scores(self, model, examples, targets, engine=None) -> list[list[float]]:
        out = []
        for ex in examples:
            rec = self._records.get(str(ex.uid))
            if rec is None:
                raise InputError(f"--import {self.path}: no scores for uid {ex.uid!r}")
            # A shortened input (truncated to the model's limit, or words removed by a
            # metric) keeps the imported scores of the words that remain.
            pos = _align(ex.words, rec["words"])
            if pos is None:
                raise InputError(f"--import {self.path}: the words of uid {ex.uid!r} do not come from the imported words")
            out.append([rec["scores"][i] for i in pos])
        return out

    def rows_spent(self, example: Example) -> int:
        return 0
