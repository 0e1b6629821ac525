"""The method registry: every attribution method registers here, by name, from its own file.

A method is one module in :mod:`pathologies.attribution` that calls :func:`register` with
its name, a factory, what it needs besides the model (a masked LM, a DkNN index) and the
scale of its scores; the package finds its modules by folder, so adding a method is adding
a file (README, "Extending").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..text import InputError
from .base import AttributionMethod

#: What a score's scale says about saturation: ``probability`` (differences of probabilities:
#: they flatten when the confidence nears 1), ``evidence`` (log-odds, conformity,
#: marginalization: they stay informative), ``gradient`` (local slopes, signed),
#: ``magnitude`` (unsigned sizes such as |input × gradient| or a gradient's norm: they say how
#: much a word matters, not in which direction, so the trust card compares them by size),
#: ``score`` (other).
SCALES = ("probability", "evidence", "gradient", "magnitude", "score")


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its factory, what it needs besides the model, a description."""

    name: str
    factory: Callable[..., AttributionMethod]
    needs: tuple[str, ...] = ()  # "mlm" (a masked LM) or "index" (a DkNN index)
    description: str = ""
    #: One of :data:`SCALES`.
    scale: str = "score"


#: Registered methods by name. A new method registers here with what it needs.
REGISTRY: dict[str, MethodInfo] = {}


def register(
    name: str, factory: Callable[..., AttributionMethod], *, needs: tuple[str, ...] = (), description: str = "",
    scale: str = "score",
) -> None:
    """Make a method available by name (to ``get_method``, the CLI, audits and the trust check)."""
    if scale not in SCALES:
        raise ValueError(f"{name}: scale must be one of {', '.join(SCALES)}, not {scale!r}")
    REGISTRY[name] = MethodInfo(name, factory, needs, description, scale)




NEED_HINTS = {
    "mlm": "a masked LM: --mlm DIR (train one with `pathologies train-mlm`)",
    "index": "a DkNN index: --index DIR (build one with `pathologies dknn fit`)",
}


def check_method(name: str, available: Iterable[str] = ()) -> MethodInfo:
    """The registered method ``name``; a clear error if unknown or if what it needs is missing."""
    info = REGISTRY.get(name)
    if info is None:
        raise InputError(f"unknown attribution method {name!r}; known: {', '.join(REGISTRY)}")
    missing = [n for n in info.needs if n not in set(available)]
    if missing:
        raise InputError(f"{name} needs {NEED_HINTS[missing[0]]}")
    return info


def get_method(name: str, **settings) -> AttributionMethod:
    """An attribution method by name; a clear error for an unknown one or a bad setting."""
    info = check_method(name, available=settings)
    try:
        return info.factory(**settings)
    except TypeError as err:
        raise InputError(f"bad setting for {name}: {err}") from err


def method_by_name(name: str, *, mlm=None, index=None, **settings) -> AttributionMethod:
    """A method by name, given the shared resources it may need (a masked LM, a DkNN
    index); resources a method does not need are not passed to it."""
    info = check_method(name, available=[k for k, v in (("mlm", mlm), ("index", index)) if v is not None])
    resources = {"mlm": mlm, "index": index}
    return get_method(name, **{n: resources[n] for n in info.needs}, **settings)


