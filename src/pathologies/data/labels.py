"""Labels of a data set mapped onto a model's own label names, and the one ``limit`` rule.

A label in a user's file names a class of the *model*: by its exact name, else by its name in
any case (when that is unique), else by its integer index. Anything else is an error that
lists the file's labels and the model's. A named data set (sst2, snli, ...) keeps its own
label names, and those are matched by name too; only a model whose names say nothing
(``LABEL_0``, ``0``, ...) and that has as many classes takes the data set's labels in order.
Nothing is ever numbered by sorting, which would give a silently wrong accuracy.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Sequence

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError

_INDEX = re.compile(r"[+-]?\d+(?:\.0*)?")
_GENERIC = re.compile(r"(?:label_?)?\d+", re.IGNORECASE)


def check_limit(limit: Any, what: str = "limit") -> int | None:
    """``None`` or a positive integer (``"5"`` from a command line included); DataError otherwise."""
    if limit is None:
        return None
    value = limit.strip() if isinstance(limit, str) else limit
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{what} must be a positive integer, not {limit!r}")
    return value


def label_names(labels: Any) -> list[str]:
    """The label names of a model (anything with ``.labels``) or of a list of names."""
    names = getattr(labels, "labels", labels)
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise DataError(f"labels must be a model or a list of label names, not {type(labels).__name__}")
    return [str(n) for n in names]


def as_index(raw: str) -> int | None:
    """``"2"``, ``"+2"``, ``"2.0"`` -> 2; None for anything that is not an integer."""
    raw = raw.strip()
    return int(float(raw)) if _INDEX.fullmatch(raw) else None


def resolve_label(raw: str, names: Sequence[str]) -> int | None:
    """The index of label ``raw`` among ``names``: exact name, then the name in any case
    (if only one matches), then an integer index in range; None when none of these holds."""
    raw = str(raw).strip()
    if raw in names:
        return list(names).index(raw)
    folded = [i for i, n in enumerate(names) if n.casefold() == raw.casefold()]
    if len(folded) == 1:
        return folded[0]
    index = as_index(raw)
    if index is not None and 0 <= index < len(names):
        return index
    return None


def resolve_target(target: Any, labels: Any, what: str = "--target") -> int:
    """The class index ``target`` names among a model's labels, by the rule of ``--data``
    labels (:func:`resolve_label`: exact name, name in any case, integer index); a one-line
    error listing the model's labels otherwise."""
    names = label_names(labels)
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(names):
        return target
    index = None if isinstance(target, bool) else resolve_label(str(target), names)
    if index is None:
        raise DataError(
            f"{what} {target!r} is not one of the model's labels: {_listing(names)} "
            f"(a name, in any case, or an index 0..{len(names) - 1})"
        )
    return index


def _is_generic(names: Sequence[str]) -> bool:
    return all(_GENERIC.fullmatch(n.strip()) for n in names)


def _listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def match_labels(dataset: Dataset, labels: Any, *, whose: str = "the model's") -> Dataset:
    """``dataset`` with its labels mapped onto ``labels`` (a model, or its label names).

    A user's file (split ``"file"``): each label by exact name, name in any case, or index.
    A named data set: its label names by exact name or name in any case; when the model's
    names are generic (``LABEL_0``, ``0``) and it has as many classes, in order. A label that
    cannot be matched raises :class:`DataError` listing the data's labels and ``labels``.
    Returns a new :class:`Dataset` whose ``labels`` are the model's.
    """
    target = label_names(labels)
    if not target:
        raise DataError(f"{whose} label list is empty")
    used = sorted({ex.label for ex in dataset.examples if ex.label is not None})
    for i in used:
        if not 0 <= i < len(dataset.labels):
            raise DataError(f"{dataset.name}: label index {i} outside its {len(dataset.labels)} labels")
    if list(dataset.labels) == target:
        return dataset
    mapping: dict[int, int] = {}
    is_file = dataset.split == "file"
    data_names = [dataset.labels[i] for i in used]
    if is_file:
        for i in used:
            j = resolve_label(dataset.labels[i], target)
            if j is None:
                first = next((ex.uid for ex in dataset.examples if ex.label == i), None)
                raise DataError(
                    f"{dataset.name}: label {dataset.labels[i]!r} (first at {first}) is not one of "
                    f"{whose} labels ({_listing(target)}) by name or index 0-{len(target) - 1}; "
                    f"the file's labels: {_listing(data_names)}"
                )
            mapping[i] = j
    else:
        for i in used:
            name = dataset.labels[i]
            j = resolve_label(name, target) if as_index(name) is None else None
            if j is None and _is_generic(target) and len(target) == len(dataset.labels):
                j = i
            if j is None:
                raise DataError(
                    f"data set {dataset.name} has labels {_listing(list(dataset.labels))}, but {whose} labels "
                    f"are {_listing(target)}: label {name!r} has no match (a model trained on another task?)"
                )
            mapping[i] = j
    examples = [ex if ex.label is None else replace(ex, label=mapping[ex.label]) for ex in dataset.examples]
    return Dataset(dataset.name, dataset.split, examples, list(target))
