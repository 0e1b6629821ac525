"""SQuAD-format question answering data (v1.1 and v2.0), from a local JSON file or the hub.

A file is ``{"version": ..., "data": [{"title": ..., "paragraphs": [{"context": ...,
"qas": [{"id", "question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}``.
Questions marked ``is_impossible`` (v2.0) are kept, with no gold answers. Every damage to a
file (not JSON, a missing field, an answer that is not in its context) is one
:class:`~pathologies.text.InputError` line naming the file and the question.

Words are whitespace tokens: the question's words are the units methods perturb, the
context's words the units answer spans are made of (each with its character offsets, so a
span maps back to characters of the original context).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..text import Example, InputError


def split_with_offsets(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Whitespace words of ``text`` and their ``[start, end)`` character offsets."""
    words, offsets = [], []
    for m in re.finditer(r"\S+", text):
        words.append(m.group())
        offsets.append((m.start(), m.end()))
    return tuple(words), tuple(offsets)


@dataclass(frozen=True)
class QAItem:
    """One question about one context, with its gold answers (none when impossible)."""

    uid: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...] = ()  # (text, answer_start in characters)
    is_impossible: bool = False
    title: str | None = None
    question_words: tuple[str, ...] = field(default=(), compare=False)
    context_words: tuple[str, ...] = field(default=(), compare=False)
    offsets: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.question_words:
            object.__setattr__(self, "question_words", tuple(self.question.split()))
        if not self.context_words:
            words, offsets = split_with_offsets(self.context)
            object.__setattr__(self, "context_words", words)
            object.__setattr__(self, "offsets", offsets)

    @classmethod
    def from_example(cls, example: Example) -> "QAItem":
        """An item for a QA :class:`Example` (question words, context words fixed)."""
        if example.fixed is None:
            raise InputError(f"input {example.uid}: a question needs a context (the fixed segment)")
        return cls(uid=example.uid or "", question=" ".join(example.words), context=" ".join(example.fixed),
                   question_words=tuple(example.words))

    def example(self) -> Example:
        """The model input: the question's words (perturbable) before the context (fixed)."""
        if not self.question_words:
            raise InputError(f"question {self.uid}: empty; there are no words to explain")
        if not self.context_words:
            raise InputError(f"question {self.uid}: the context is empty")
        return Example(self.question_words, fixed=self.context_words, fixed_first=False, uid=self.uid)

    def char_span(self, span: Sequence[int]) -> tuple[int, int]:
        """``[start, end)`` characters of a word span (``(-1, -1)`` for the null answer)."""
        i, j = int(span[0]), int(span[1])
        if i < 0:
            return (-1, -1)
        return (self.offsets[i][0], self.offsets[j][1])

    def answer_text(self, span: Sequence[int]) -> str:
        a, b = self.char_span(span)
        return "" if a < 0 else self.context[a:b]

    def word_span(self, start: int, end: int) -> tuple[int, int]:
        """The context words overlapping characters ``[start, end)``."""
        inside = [k for k, (a, b) in enumerate(self.offsets) if a < end and b > start]
        if not inside:
            raise InputError(f"question {self.uid}: the answer at characters {start}..{end} covers no word of the context")
        return (inside[0], inside[-1])

    def gold_spans(self) -> list[tuple[int, int]]:
        """Word spans of the gold answers (empty for an impossible question)."""
        return [self.word_span(s, s + len(t)) for t, s in self.answers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "question": self.question, "context": self.context, "title": self.title,
            "answers": [{"text": t, "answer_start": s} for t, s in self.answers], "is_impossible": self.is_impossible,
        }


@dataclass
class SquadData:
    """The questions of a SQuAD-format file, in file order."""

    items: list[QAItem]
    version: str
    source: str

    @property
    def has_impossible(self) -> bool:
        return any(it.is_impossible for it in self.items)

    @property
    def examples(self) -> list[Example]:
        return [it.example() for it in self.items]

    def __len__(self) -> int:
        return len(self.items)


def read_squad(path: str | Path, *, limit: int | None = None, encoding: str = "utf-8") -> SquadData:
    """Read a SQuAD v1.1 / v2.0 JSON file; one-line InputError for anything damaged."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{p}: no such file (a SQuAD-format JSON file)")
    try:
        text = p.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise InputError(f"{p}: not {encoding} text (byte {err.start}); give --encoding or fix the file") from None
    except OSError as err:
        raise InputError(f"{p}: cannot be read ({err.strerror or err})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{p}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); the file is damaged or cut off") from None
    return parse_squad(doc, source=str(p), limit=limit)


def parse_squad(doc: Any, *, source: str = "SQuAD data", limit: int | None = None) -> SquadData:
    """SQuAD-format data already parsed from JSON (a dict with ``data``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise InputError(f"{source}: not SQuAD format (expected a JSON object with a \"data\" list of articles)")
    version = str(doc.get("version", ""))
    items: list[QAItem] = []
    seen: set[str] = set()
    for a, article in enumerate(doc["data"]):
        where = f"{source}: data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{where}: an article needs a \"paragraphs\" list")
        title = article.get("title")
        for p, para in enumerate(article["paragraphs"]):
            where_p = f"{where}.paragraphs[{p}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise InputError(f"{where_p}: a paragraph needs a \"context\" string")
            context = para["context"]
            if not context.split():
                raise InputError(f"{where_p}: the context is empty")
            qas = para.get("qas")
            if not isinstance(qas, list):
                raise InputError(f"{where_p}: a paragraph needs a \"qas\" list")
            words, offsets = split_with_offsets(context)
            for q, qa in enumerate(qas):
                items.append(_item(qa, f"{where_p}.qas[{q}]", context, words, offsets, title, seen))
                if limit is not None and len(items) >= limit:
                    return SquadData(items, version, source)
    if not items:
        raise InputError(f"{source}: no questions in the file")
    return SquadData(items, version, source)


def _item(qa: Any, where: str, context: str, words, offsets, title, seen: set[str]) -> QAItem:
    if not isinstance(qa, dict):
        raise InputError(f"{where}: a question must be a JSON object")
    uid = qa.get("id")
    if not isinstance(uid, (str, int)) or str(uid) == "":
        raise InputError(f"{where}: the question has no \"id\"")
    uid = str(uid)
    where = f"{where} (id {uid})"
    if uid in seen:
        raise InputError(f"{where}: the id appears twice in the file")
    seen.add(uid)
    question = qa.get("question")
    if not isinstance(question, str) or not question.split():
        raise InputError(f"{where}: the question is missing or empty")
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise InputError(f"{where}: \"is_impossible\" must be true or false, not {impossible!r}")
    raw = qa.get("answers", [])
    if not isinstance(raw, list):
        raise InputError(f"{where}: \"answers\" must be a list")
    answers = []
    for k, ans in enumerate(raw):
        if not isinstance(ans, dict) or not isinstance(ans.get("text"), str) or not isinstance(ans.get("answer_start"), int) or isinstance(ans.get("answer_start"), bool):
            raise InputError(f"{where}: answers[{k}] needs \"text\" (a string) and \"answer_start\" (an integer)")
        text, start = ans["text"], ans["answer_start"]
        if not text.strip():
            raise InputError(f"{where}: answers[{k}] is empty")
        if start < 0 or context[start : start + len(text)] != text:
            found = context[max(0, start) : max(0, start) + len(text)]
            raise InputError(
                f"{where}: answers[{k}] {text[:40]!r} is not in the context at character {start} (found {found[:40]!r})"
            )
        answers.append((text, start))
    if impossible and answers:
        raise InputError(f"{where}: marked impossible but has answers")
    if not impossible and not answers:
        raise InputError(f"{where}: no answers and not marked \"is_impossible\" (SQuAD 2.0)")
    return QAItem(uid, question, context, tuple(answers), impossible, title if isinstance(title, str) else None,
                  context_words=words, offsets=offsets)


#: Hub data sets in SQuAD format by name: (repo, {split: hub split}).
HUB_SQUAD = {
    "squad": ("rajpurkar/squad", {"train": "train", "dev": "validation"}),
    "squad_v2": ("rajpurkar/squad_v2", {"train": "train", "dev": "validation"}),
}


def load_squad_hub(name: str, split: str = "dev", *, limit: int | None = None) -> SquadData:
    """``squad`` / ``squad_v2`` from the Hugging Face hub (needs ``datasets`` and internet)."""
    if name not in HUB_SQUAD:
        raise InputError(f"unknown QA data set {name!r}; known: {', '.join(HUB_SQUAD)} (or a SQuAD-format .json file)")
    repo, splits = HUB_SQUAD[name]
    if split not in splits:
        raise InputError(f"{name} has splits {', '.join(splits)}, not {split!r}")
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise InputError(f"{name} comes from the Hugging Face hub: pip install datasets (or give a SQuAD .json file)") from None
    from datasets import load_dataset as hub_load

    try:
        rows = hub_load(repo, split=splits[split] if limit is None else f"{splits[split]}[:{limit}]")
    except Exception as err:
        first = next((l for l in str(err).splitlines() if l.strip()), type(err).__name__)
        raise InputError(f"could not load {name} from the hub ({first}); give a SQuAD-format .json file with --data") from None
    return hub_rows_to_squad(rows, name=name, limit=limit)


def hub_rows_to_squad(rows, *, name: str = "squad", limit: int | None = None) -> SquadData:
    """Rows in the hub's flat ``squad`` layout (id, title, context, question, answers{text,
    answer_start}) as SQuAD data; an empty answer list is an impossible question."""
    articles: dict[tuple, dict] = {}
    for n, row in enumerate(rows):
        if limit is not None and n >= limit:
            break
        key = (row.get("title"), row["context"])
        para = articles.setdefault(key, {"title": row.get("title"), "paragraphs": [{"context": row["context"], "qas": []}]})
        ans = row.get("answers") or {"text": [], "answer_start": []}
        answers = [{"text": t, "answer_start": int(s)} for t, s in zip(ans["text"], ans["answer_start"])]
        para["paragraphs"][0]["qas"].append(
            {"id": row["id"], "question": row["question"], "answers": answers, "is_impossible": not answers}
        )
    return parse_squad({"version": name, "data": list(articles.values())}, source=f"hub:{name}")


def load_qa_data(spec: str, *, limit: int | None = None, encoding: str = "utf-8") -> SquadData:
    """A SQuAD-format ``.json`` file, or ``squad[:SPLIT]`` / ``squad_v2[:SPLIT]`` from the hub."""
    p = Path(spec).expanduser()
    if p.suffix.lower() == ".json" or p.exists() or "/" in spec:
        return read_squad(p, limit=limit, encoding=encoding)
    name, _, split = spec.partition(":")
    return load_squad_hub(name, split or "dev", limit=limit)


_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def normalize_answer(s: str) -> str:
    """The official SQuAD normalization: lower case, no punctuation, articles or extra spaces."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD exact match (an impossible question: 1 for the empty answer)."""
    if not golds:
        return float(prediction == "")
    return float(max(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1, the best over the gold answers."""
    from collections import Counter

    if not golds:
        return float(prediction == "")
    best = 0.0
    p = normalize_answer(prediction).split()
    for g in golds:
        t = normalize_answer(g).split()
        common = sum((Counter(p) & Counter(t)).values())
        if not p or not t:
            best = max(best, float(p == t))
        elif common:
            precision, recall = common / len(p), common / len(t)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def cloze_squad(sentences: str | Path, n_contexts: int, *, seed: int = 0, skip: int = 0, per_context: int = 4) -> dict:
    """SQuAD-format cloze questions written from a file of tokenized sentences, one a line
    (SNLI premises here), for tests and benchmarks where no SQuAD can be downloaded.

    A context is ``per_context`` sentences; each question is one of them with its last word
    replaced by "what" (``"Two doctors perform surgery on what ?"``), the answer that word.
    Sentences of 6–16 tokens that end in " ." after a word of 3+ letters, deduplicated,
    shuffled with ``seed``; the first ``skip`` are left out (a held-out set: ``skip`` past the
    training set's sentences). Returns the JSON document (:func:`parse_squad` reads it).
    """
    import random

    seen, pool = set(), []
    for line in Path(sentences).read_text(encoding="utf-8").splitlines():
        words = line.split()
        if line in seen or not 6 <= len(words) <= 16 or words[-1] != "." or not words[-2].isalpha() or len(words[-2]) < 3:
            continue
        seen.add(line)
        pool.append(words)
    random.Random(seed).shuffle(pool)
    pool = pool[skip:]
    if len(pool) < n_contexts * per_context:
        raise InputError(f"{sentences}: {len(pool)} usable sentences, {n_contexts * per_context} needed")
    articles = []
    for c in range(n_contexts):
        group = pool[c * per_context : (c + 1) * per_context]
        context = " ".join(" ".join(p) for p in group)
        qas, pos = [], 0
        for q, p in enumerate(group):
            start = context.index(" ".join(p), pos)
            pos = start + len(" ".join(p))
            answer_start = start + len(" ".join(p[:-2])) + 1
            qas.append({"id": f"c{c + skip // per_context}q{q}", "question": " ".join(p[:-2] + ["what", "?"]),
                        "answers": [{"text": p[-2], "answer_start": answer_start}]})
        articles.append({"title": f"cloze-{c}", "paragraphs": [{"context": context, "qas": qas}]})
    return {"version": "1.1", "data": articles}
