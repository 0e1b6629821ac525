"""A run folder as the app browses it: one small row per example, and where its records are.

The index reads each committed record file once, front to back, keeping per example only the
fields the table filters and sorts on, and the byte offset of every record line. An example
page then reads its own lines by offset, so memory stays flat while a run is browsed page by
page. A run still being written by an audit is read up to its last commit
(``commits.jsonl``), and the next request picks up the chunks committed since.
"""

from __future__ import annotations

import json
import mmap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audit import RunFolder
from ..audit.folder import COMMITS, QA_KINDS, task_of
from ..records import Attribution, Reduction, TrustCard, label_name
from ..text import InputError

#: The record kinds the app reads (curves and projections are the report's figures).
APP_KINDS = ("attributions", "metrics", "reductions", "trust")

#: The order the index reads them: the trust cards and metrics carry the prediction and the text,
#: so the long attribution lines are then only located, not parsed.
SCAN_ORDER = ("trust", "metrics", "reductions", "attributions")

_DECODER = json.JSONDecoder()
#: The bytes of an attribution line read to find its index, uid and method (a longer uid: the whole line).
HEAD = 512


def _value(line: str, key: str, start: int = 0, last: bool = False) -> tuple[Any, int]:
    """The JSON value of ``key`` in a record line, and where it ends. The first (``last``: the
    final) ``"key": `` in the line is the key: inside a JSON string a quote is always escaped."""
    token = f'"{key}": '
    at = line.rfind(token) if last else line.find(token, start)
    if at < 0:
        raise KeyError(key)
    return _DECODER.raw_decode(line, at + len(token))


#: Sort keys: the row field each sorts on.
SORTS = {
    "index": "index", "confidence": "confidence", "trust": "score", "comprehensiveness": "comprehensiveness",
    "sufficiency": "sufficiency", "reduced": "reduced", "length": "length", "f1": "f1",
}
#: The sort keys of a classifier run's table, and of a question-answering run's.
CLASSIFIER_SORTS = tuple(k for k in SORTS if k != "f1")
QA_SORTS = ("index", "confidence", "reduced", "length", "f1")
VERDICTS = ("trust", "caution", "do not trust")
PAGE_SIZES = (25, 50, 100, 200)
#: Agreement statuses that mean the methods disagree (the card's agreement signal).
DISAGREE = ("warn", "bad")


class BadRequest(InputError):
    """A request the app cannot answer: its message is shown to the user (HTTP 400/404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Row:
    """What the table shows and filters on for one example (its records stay on disk)."""

    index: int
    uid: str | None = None
    #: The words as the record wrote them (a JSON array): decoded only for the rows shown.
    words_json: str = ""
    length: int = 0
    label: str | None = None
    predicted: str | None = None
    confidence: float | None = None
    comprehensiveness: float | None = None
    sufficiency: float | None = None
    verdict: str | None = None
    score: float | None = None
    agreement: str | None = None
    reduced: int | None = None
    reduced_to: str | None = None
    #: A QA answer's SQuAD exact match and F1, as the run stored them (None: no gold answer).
    exact: float | None = None
    f1: float | None = None
    #: (kind, method or None) -> (offset, length) of the record line in its file.
    where: dict[tuple[str, str | None], tuple[int, int]] = field(default_factory=dict)

    @property
    def correct(self) -> bool | None:
        if self.exact is not None:  # a QA answer: right when it matches a gold answer exactly
            return self.exact == 1.0
        return None if self.label is None or self.predicted is None else self.label == self.predicted

    @property
    def text(self) -> str:
        return " ".join(json.loads(self.words_json)) if self.words_json else ""

    def set_words(self, words: list[str]) -> None:
        self.words_json, self.length = json.dumps(words, ensure_ascii=False), len(words)

    def has_word(self, word: str) -> bool:
        """Whether one of the words is ``word`` (case ignored, as the corpus view counts them)."""
        return json.dumps(word.lower(), ensure_ascii=False) in self.words_json.lower()


@dataclass
class Query:
    """A table request: filters, sort, page (every value checked by :meth:`parse`)."""

    label: str = ""
    pred: str = ""
    verdict: str = ""
    correct: str = ""
    disagree: str = ""
    word: str = ""
    reduced: str = ""
    min_reduced: int | None = None
    max_reduced: int | None = None
    sort: str = "index"
    order: str = "asc"
    page: int = 1
    per: int = 50

    FIELDS = ("label", "pred", "verdict", "correct", "disagree", "word", "reduced", "min_reduced", "max_reduced", "sort", "order", "page", "per")

    @classmethod
    def parse(cls, params: Any, labels: list[str], sorts: Any = None) -> "Query":
        """The checked query; ``sorts``: the sort keys this run's table offers (default: a
        classifier run's)."""
        sorts = sorts if sorts is not None else CLASSIFIER_SORTS
        q = cls()
        for key in params.keys():
            if key not in cls.FIELDS:
                raise BadRequest(f"unknown parameter {key!r}; the table takes: {', '.join(cls.FIELDS)}")
        get = lambda k: (params.get(k) or "").strip()  # noqa: E731
        for key in ("label", "pred"):
            value = get(key)
            if value and value not in labels:
                raise BadRequest(f"{key}: no class {value!r} in this run; classes: {', '.join(labels)}")
            setattr(q, key, value)
        q.verdict = get("verdict")
        if q.verdict and q.verdict not in VERDICTS:
            raise BadRequest(f"verdict: one of {', '.join(VERDICTS)}, not {q.verdict!r}")
        q.correct = get("correct")
        if q.correct not in ("", "yes", "no"):
            raise BadRequest(f"correct: yes or no, not {q.correct!r}")
        q.disagree = get("disagree")
        if q.disagree not in ("", "yes", "no"):
            raise BadRequest(f"disagree: yes or no, not {q.disagree!r}")
        q.word, q.reduced = get("word")[:200], " ".join(get("reduced").split())[:500]
        for key in ("min_reduced", "max_reduced", "page", "per"):
            value = get(key)
            if value:
                if not value.isdigit() or len(value) > 9:
                    raise BadRequest(f"{key}: a whole number, not {value!r}")
                setattr(q, key, int(value))
        if q.page < 1:
            raise BadRequest("page: 1 or more")
        if q.per not in PAGE_SIZES:
            raise BadRequest(f"per: one of {', '.join(map(str, PAGE_SIZES))}, not {q.per}")
        q.sort = get("sort") or "index"
        if q.sort not in sorts:
            raise BadRequest(f"sort: one of {', '.join(sorts)}, not {q.sort!r}")
        q.order = get("order") or "asc"
        if q.order not in ("asc", "desc"):
            raise BadRequest(f"order: asc or desc, not {q.order!r}")
        return q

    def params(self, **changes: Any) -> dict[str, str]:
        """The query's non-default values (with ``changes``), for links."""
        default = Query()
        out = {}
        for key in self.FIELDS:
            value = changes.get(key, getattr(self, key))
            if value != getattr(default, key) and value not in (None, ""):
                out[key] = str(value)
        return out

    def keep(self, row: Row) -> bool:
        if self.label and row.label != self.label:
            return False
        if self.pred and row.predicted != self.pred:
            return False
        if self.verdict and row.verdict != self.verdict:
            return False
        if self.correct and row.correct is not (self.correct == "yes"):
            return False
        if self.disagree and (row.agreement in DISAGREE) is not (self.disagree == "yes"):
            return False
        if self.min_reduced is not None and (row.reduced is None or row.reduced < self.min_reduced):
            return False
        if self.max_reduced is not None and (row.reduced is None or row.reduced > self.max_reduced):
            return False
        if self.reduced and (row.reduced_to or "").lower() != self.reduced.lower():
            return False
        if self.word and not row.has_word(self.word):
            return False
        return True


def open_index(path: str | Path, key: int) -> "RunIndex":
    """The index of a run folder: a classifier run's, or a question-answering run's."""
    manifest = RunFolder(path).manifest()  # a clear error for a folder that is no run
    return (QARunIndex if task_of(manifest) == "qa" else RunIndex)(path, key)


class RunIndex:
    """One run folder, indexed for the app (see the module docstring)."""

    task = "classify"
    #: The record kinds read, and in which order.
    kinds: tuple[str, ...] = APP_KINDS
    scan_order: tuple[str, ...] = SCAN_ORDER
    sorts: tuple[str, ...] = CLASSIFIER_SORTS

    def __init__(self, path: str | Path, key: int):
        self.path = Path(path)
        self.key = key
        self.folder = RunFolder(self.path, self.kinds)
        self.manifest = self.folder.manifest()  # a clear error for a folder that is no run
        self.labels: list[str] = list(self.manifest["model"].get("labels", []))
        self.methods: list[str] = list(self.manifest["spec"]["methods"])
        self.rows: dict[int, Row] = {}
        self._read: dict[str, int] = {k: 0 for k in self.kinds}
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.refresh()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def examples(self) -> int:
        return int(self.manifest["data"]["examples"])

    @property
    def complete(self) -> bool:
        return (self.path / "summary.json").is_file()

    def summary(self) -> dict[str, Any] | None:
        return self.folder.summary()

    # --- reading the records -----------------------------------------------------------
    def refresh(self) -> None:
        """Read the records committed since the last look (nothing when commits.jsonl is unchanged)."""
        with self._lock:
            try:
                st = (self.path / COMMITS).stat()
                stamp = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                stamp = (0, 0)
            if stamp == self._stamp:
                return
            sizes = self.folder.committed_sizes()
            if any(sizes.get(k, 0) < self._read[k] for k in self.kinds):  # the folder was made again
                self.manifest = self.folder.manifest()
                self.rows, self._read = {}, {k: 0 for k in self.kinds}
            for kind in self.scan_order:
                end = sizes.get(kind, 0)
                if end > self._read[kind]:
                    self._read[kind] = self._scan(kind, self._read[kind], end)
            self._stamp = stamp

    def _scan(self, kind: str, start: int, end: int) -> int:
        """Index the complete lines of ``kind`` between two byte offsets; returns where it stopped."""
        with (self.path / "records" / f"{kind}.jsonl").open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            end = min(end, len(mm))  # never past the file (a folder made again while it is read)
            offset = start
            while offset < end:
                nl = mm.find(b"\n", offset, end)
                if nl < 0:
                    break
                length = nl + 1 - offset
                if kind == "attributions":  # index, uid and method open the line: read no further
                    head = mm[offset : min(nl, offset + HEAD)].decode("utf-8", "replace")
                    try:
                        if self._locate(head, offset, length):
                            offset = nl + 1
                            continue
                    except (ValueError, KeyError, TypeError):
                        pass
                line = mm[offset : nl + 1].decode("utf-8")
                try:
                    self._add_fast(kind, line, offset, length)
                except (ValueError, KeyError, TypeError, IndexError):  # not in the audit's key order: parse it all
                    self._add(kind, json.loads(line), offset, length)
                offset = nl + 1
        return offset

    def _locate(self, head: str, offset: int, length: int) -> bool:
        """Note where an attribution line is from its first bytes; False when the row still needs
        its text and prediction from it (then the whole line is read)."""
        idx, at = _value(head, "index")
        uid, at = _value(head, "uid", at)
        method, _ = _value(head, "method", at)
        if not isinstance(method, str) or not isinstance(idx, int):
            raise TypeError(method)
        row = self._row(idx)
        if not row.words_json and method == (self.methods[0] if self.methods else method):
            return False
        row.where[("attributions", method)] = (offset, length)
        if row.uid is None:
            row.uid = uid
        return True

    def _row(self, idx: int) -> Row:
        row = self.rows.get(idx)
        if row is None:
            row = self.rows[idx] = Row(index=idx)
        return row

    def _add_fast(self, kind: str, line: str, offset: int, length: int) -> None:
        """The fields the table needs, decoded from their place in the line (the rest of a long
        record, such as a reduction path or a heatmap, is never parsed). Relies on the key
        order the audit writes; anything else raises and the whole line is parsed instead."""
        if kind == "metrics":  # short lines
            self._add(kind, json.loads(line), offset, length)
            return
        idx, _ = _value(line, "index")
        row = self._row(int(idx))
        if kind == "attributions":
            method, _ = _value(line, "method")
            if not isinstance(method, str):
                raise TypeError(method)
            if not row.words_json and (method == (self.methods[0] if self.methods else method)):
                self._add(kind, json.loads(line), offset, length)  # the text and prediction come from here
                return
            row.where[(kind, method)] = (offset, length)
            if row.uid is None:
                row.uid, _ = _value(line, "uid")
        elif kind == "reductions":
            final, _ = _value(line, "final")
            row.reduced, row.reduced_to = len(final), " ".join(final)
            row.where[(kind, None)] = (offset, length)
            if row.uid is None:
                row.uid, _ = _value(line, "uid")
            if not row.words_json:
                original, _ = _value(line, "original")
                row.set_words(original)
        elif kind == "trust":
            start = line.index('"words": [') + len('"words": ')
            at = line.index(', "predicted": ', start)  # the words array ends there (inside it, quotes are escaped)
            words_json = line[start:at]
            predicted, at = _value(line, "predicted", at)
            confidence, at = _value(line, "confidence", at)
            verdict, at = _value(line, "verdict", at)
            score, at = _value(line, "score", at)
            agreement = line.find('{"name": "agreement", ', at)
            row.agreement = _value(line, "status", agreement)[0] if agreement >= 0 else None
            labels, _ = _value(line, "labels", last=True)
            label, _ = _value(line, "label", last=True)
            row.verdict, row.score = verdict, score
            row.where[(kind, None)] = (offset, length)
            if row.confidence is None:
                labels = labels or self.labels
                row.confidence = confidence
                row.predicted, row.label = label_name(labels, predicted), label_name(labels, label)
            if not row.words_json:
                row.words_json = words_json
                row.length = 0 if words_json == "[]" else words_json.count('", "') + 1
        else:
            raise KeyError(kind)

    def _add(self, kind: str, r: dict[str, Any], offset: int, length: int) -> None:
        row = self._row(int(r.get("index", 0)))
        row.uid = row.uid or r.get("uid")
        method = r.get("method") if kind in ("attributions", "metrics") else None
        row.where[(kind, method)] = (offset, length)
        first = self.methods[0] if self.methods else None
        if kind == "attributions" and (not row.words_json or method == first):
            row.set_words(r["words"])
            probs = r["probs"]
            pred = max(range(len(probs)), key=probs.__getitem__)
            row.predicted = label_name(r.get("labels") or self.labels, pred)
            row.label = label_name(r.get("labels") or self.labels, r.get("label"))
            row.confidence = float(probs[pred])
        elif kind == "metrics" and (row.comprehensiveness is None or method == first):
            row.comprehensiveness = r.get("comprehensiveness")
            row.sufficiency = r.get("sufficiency")
            if row.confidence is None:
                row.confidence = r.get("confidence")
                row.predicted = label_name(self.labels, r.get("predicted"))
                row.label = label_name(self.labels, r.get("label"))
        elif kind == "reductions":
            row.reduced = len(r["final"])
            row.reduced_to = " ".join(r["final"])
            if not row.words_json:
                row.set_words(r["original"])
        elif kind == "trust":
            row.verdict = r.get("verdict")
            row.score = r.get("score")
            agreement = next((s for s in r.get("signals", []) if s.get("name") == "agreement"), None)
            row.agreement = agreement.get("status") if agreement else None
            if row.confidence is None:
                row.confidence = r.get("confidence")
                row.predicted = label_name(r.get("labels") or self.labels, r.get("predicted"))
                row.label = label_name(r.get("labels") or self.labels, r.get("label"))
            if not row.words_json:
                row.set_words(r["words"])

    def record(self, row: Row, kind: str, method: str | None = None) -> dict[str, Any] | None:
        """One record of an example, read from its file by offset (None when the run has none)."""
        where = row.where.get((kind, method))
        if where is None:
            return None
        with (self.path / "records" / f"{kind}.jsonl").open("rb") as fh:
            fh.seek(where[0])
            return json.loads(fh.read(where[1]))

    # --- what the pages ask --------------------------------------------------------------
    def row(self, index: int) -> Row:
        self.refresh()
        row = self.rows.get(index)
        if row is None:
            raise BadRequest(f"run {self.name} has no example {index} (yet): it has {len(self.rows)} examples", 404)
        return row

    def select(self, q: Query) -> tuple[list[Row], int]:
        """The rows of one page and how many rows pass the filters."""
        self.refresh()
        with self._lock:  # another request may be reading new chunks into the index
            rows = list(self.rows.values())
        rows = [r for r in rows if q.keep(r)]
        key = SORTS[q.sort]
        missing = [r for r in rows if getattr(r, key) is None]
        present = [r for r in rows if getattr(r, key) is not None]
        present.sort(key=lambda r: (getattr(r, key), r.index), reverse=q.order == "desc")
        rows = present + sorted(missing, key=lambda r: r.index)  # rows without the value last
        start = (q.page - 1) * q.per
        return rows[start : start + q.per], len(rows)

    def attributions(self, row: Row) -> list[Attribution]:
        out = []
        for m in self.methods:
            rec = self.record(row, "attributions", m)
            if rec is not None:
                out.append(Attribution.from_dict(rec))
        return out

    def by_method(self, row: Row, kind: str) -> dict[str, dict[str, Any]]:
        """An example's records of one kind, by method (in the run's method order)."""
        found = {m: self.record(row, kind, m) for m in self.methods}
        return {m: rec for m, rec in found.items() if rec is not None}

    def metrics(self, row: Row) -> dict[str, dict[str, Any]]:
        return self.by_method(row, "metrics")

    def reduction(self, row: Row) -> Reduction | None:
        rec = self.record(row, "reductions")
        return Reduction.from_dict(rec) if rec is not None else None

    def card(self, row: Row) -> TrustCard | None:
        rec = self.record(row, "trust")
        return TrustCard.from_dict(rec) if rec is not None else None

    def corpus(self, name: str) -> list[dict[str, Any]]:
        """A corpus table as the finished run stored it (``Run.corpus`` reads the same file);
        an unfinished run has none yet (it is written when the run finishes)."""
        if not self.complete:
            return []
        return self.folder.read_table(name) or []


class QARunIndex(RunIndex):
    """A question-answering run folder, indexed for the app: per question its words, the
    predicted answer (``predicted``) and gold answers (``label``), the span's probability, the
    stored exact match / F1 (``correct``: an exact match) and the reduced length. QA runs are
    read line by line (their records carry no trust cards or metrics to skip ahead on)."""

    task = "qa"
    kinds = QA_KINDS
    scan_order = ("qa_reductions", "qa_attributions")
    sorts = QA_SORTS

    def __init__(self, path: str | Path, key: int):
        super().__init__(path, key)
        spec = self.manifest["spec"]
        self.reduced_by: str | None = spec.get("reduce_by")

    def _locate(self, head: str, offset: int, length: int) -> bool:
        return False

    def _add_fast(self, kind: str, line: str, offset: int, length: int) -> None:
        self._add(kind, json.loads(line), offset, length)

    def _add(self, kind: str, r: dict[str, Any], offset: int, length: int) -> None:
        row = self._row(int(r["index"]))
        row.uid = row.uid or r.get("uid")
        method = r.get("method") if kind == "qa_attributions" else None
        row.where[(kind, method)] = (offset, length)
        if kind == "qa_reductions":
            row.reduced, row.reduced_to = len(r["final"]), " ".join(r["final"])
        if not row.words_json:
            row.set_words(r["words"] if kind == "qa_attributions" else r["original"])
            row.predicted = r["answer"] or "(no answer)"
            row.label = " | ".join(r.get("gold") or []) or ("(unanswerable)" if r.get("is_impossible") else None)
            row.confidence = r["probability"] if kind == "qa_attributions" else r["original_confidence"]
            row.exact, row.f1 = r.get("exact_match"), r.get("f1")

    def qa_attributions(self, row: Row) -> dict[str, dict[str, Any]]:
        """The stored attribution lines of a question, by method."""
        return self.by_method(row, "qa_attributions")

    def qa_reduction(self, row: Row) -> dict[str, Any] | None:
        return self.record(row, "qa_reductions")

    def attributions(self, row: Row) -> list:  # the classifier pages' view of a row: none here
        return []

    def metrics(self, row: Row) -> dict[str, dict[str, Any]]:
        return {}

    def reduction(self, row: Row) -> None:
        return None

    def card(self, row: Row) -> None:
        return None

    def corpus(self, name: str) -> list[dict[str, Any]]:
        return []
