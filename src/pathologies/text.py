"""The one record type every part of the toolkit shares: an example made of words.

Units are words (whitespace tokens of the input, or the data set's own tokens). An example
has one perturbable segment (``words``) and, for sentence pairs, a fixed segment that
methods never touch. ``fixed_first`` says whether the fixed segment comes first in the
model input (SNLI: premise fixed and first, hypothesis perturbed).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Sequence


class InputError(ValueError):
    """Bad user input: empty text, a missing pair segment, an unknown label, and so on."""


@dataclass(frozen=True)
class Example:
    """Words of the perturbable segment, an optional fixed segment, a label, word tags."""

    words: tuple[str, ...]
    label: int | None = None
    fixed: tuple[str, ...] | None = None
    fixed_first: bool = True
    tags: tuple[int, ...] | None = None
    uid: str | None = None

    def __post_init__(self) -> None:
        # Accept lists for convenience; store tuples so examples hash and compare.
        object.__setattr__(self, "words", tuple(self.words))
        if self.fixed is not None:
            object.__setattr__(self, "fixed", tuple(self.fixed))
        if self.tags is not None:
            object.__setattr__(self, "tags", tuple(self.tags))
            if len(self.tags) != len(self.words):
                raise InputError(
                    f"{len(self.tags)} word tags for {len(self.words)} words"
                )

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        label: int | None = None,
        fixed: str | None = None,
        fixed_first: bool = True,
        uid: str | None = None,
    ) -> "Example":
        """Build an example from user text, split on whitespace.

        Raises :class:`InputError` for empty text or an empty fixed segment.
        """
        words = tuple(text.split())
        if not words:
            raise InputError("empty text: there are no words to explain")
        fixed_words = None
        if fixed is not None:
            fixed_words = tuple(fixed.split())
            if not fixed_words:
                raise InputError("a sentence pair needs both segments; one of them is empty")
        return cls(words, label=label, fixed=fixed_words, fixed_first=fixed_first, uid=uid)

    @classmethod
    def pair(cls, first: str, second: str, *, perturb: str = "second", **kw: Any) -> "Example":
        """A sentence pair; ``perturb`` names the segment methods may change."""
        if perturb not in ("first", "second"):
            raise InputError("perturb must be 'first' or 'second'")
        if not first.split() or not second.split():
            raise InputError("a sentence pair needs both segments; one of them is empty")
        if perturb == "second":
            return cls.from_text(second, fixed=first, fixed_first=True, **kw)
        return cls.from_text(first, fixed=second, fixed_first=False, **kw)

    @property
    def is_pair(self) -> bool:
        return self.fixed is not None

    def with_words(self, words: Sequence[str]) -> "Example":
        """The same example with other perturbable words (tags are dropped)."""
        return replace(self, words=tuple(words), tags=None)

    def without(self, positions: Iterable[int]) -> "Example":
        """The example with the words at ``positions`` deleted."""
        drop = set(positions)
        return self.with_words([w for i, w in enumerate(self.words) if i not in drop])

    def segments(self) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        """(first, second) segments in model input order."""
        if self.fixed is None:
            return self.words, None
        return (self.fixed, self.words) if self.fixed_first else (self.words, self.fixed)

    def key(self) -> tuple:
        """What a model sees: the cache key of this input."""
        return (self.words, self.fixed, self.fixed_first)

    def text(self) -> str:
        return " ".join(self.words)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["words"] = list(self.words)
        d["fixed"] = list(self.fixed) if self.fixed is not None else None
        d["tags"] = list(self.tags) if self.tags is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Example":
        return cls(
            words=tuple(d["words"]),
            label=d.get("label"),
            fixed=tuple(d["fixed"]) if d.get("fixed") is not None else None,
            fixed_first=d.get("fixed_first", True),
            tags=tuple(d["tags"]) if d.get("tags") is not None else None,
            uid=d.get("uid"),
        )


def as_examples(examples: "Example | str | Iterable[Example | str]", *, what: str = "explain") -> list[Example]:
    """One input in any accepted form as a list of examples, each with a uid.

    Accepts a text, an :class:`Example`, a data set (anything with ``.examples``), or an
    iterable of texts and examples. Examples without a uid get ``#<position>``.
    """
    if isinstance(examples, (str, Example)):
        examples = [examples]
    elif hasattr(examples, "examples") and not isinstance(examples, (list, tuple)):
        examples = examples.examples
    out = []
    for i, ex in enumerate(examples):
        if isinstance(ex, str):
            ex = Example.from_text(ex)
        elif not isinstance(ex, Example):
            raise InputError(f"cannot {what} a {type(ex).__name__}: give text, Examples or a data set")
        out.append(ex if ex.uid is not None else replace(ex, uid=f"#{i}"))
    if not out:
        raise InputError(f"no examples to {what}")
    for ex in out:
        if not ex.words:
            raise InputError(f"example {ex.uid} has no words to {what}")
    return out


#: How per-example random draws are seeded (recorded in a run's manifest): see :func:`example_seed`.
SEED_RULE = "sha256(seed, words, fixed segment, fixed_first)"


def example_seed(seed: int, example: Example, *extra: Any) -> int:
    """A 64-bit seed for one example's random draws, from the seed and what the model sees.

    It depends on the seed and the example's content (its perturbable words, the fixed
    segment of a pair and its side), and on ``extra`` (e.g. a position), never on where the
    example sits in a batch, which verb asked, or the process (no Python ``hash``). The uid is
    left out on purpose: a text given on the command line gets the positional uid ``#0``, the
    same sentence in a data file its line's uid, and both must draw the same.
    """
    key = json.dumps(
        [int(seed), list(example.words), list(example.fixed) if example.fixed is not None else None,
         bool(example.fixed_first), *extra],
        ensure_ascii=False,
    )
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


#: Unicode categories of characters that show nothing by themselves: control and format
#: characters (zero-width space and joiners, byte-order mark, soft hyphen, direction marks),
#: separators, and combining marks with no base character.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def is_invisible_word(word: str) -> bool:
    """True for a word made only of invisible characters (or empty; U+FFFD, the mark a decoding
    error leaves, counts as one, as WordPiece drops it too): the one rule of every
    model family for words no method could score. HF tokenizers turn most such words into no
    piece at all; a word-level model would read them as an unknown word. Such a word is
    dropped with one warning, and an input left with no words is an error (see
    ``TorchClassifier.fit_to_limit``)."""
    return all(unicodedata.category(c) in INVISIBLE_CATEGORIES or c == "\ufffd" for c in word)


def visible_form(word: str) -> str:
    """The word without its control and format characters ("fun" + a zero-width space -> "fun"), as
    a WordPiece tokenizer reads it; combining marks stay (they belong to their letter)."""
    if word.isascii() and word.isprintable():
        return word
    return "".join(c for c in word if unicodedata.category(c) not in ("Cc", "Cf"))
