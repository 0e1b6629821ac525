"""Attribution methods, one per module, all returning :class:`Attribution` records."""

from __future__ import annotations

from ..text import InputError
from .base import Attribution, AttributionMethod
from .gradient import InputGradient

#: Method names users can pass, mapped to a factory taking the method's settings.
METHODS = {
    "gradient": lambda **kw: InputGradient(variant="signed", **kw),
    "gradient-abs": lambda **kw: InputGradient(variant="abs", **kw),
    "gradient-l2": lambda **kw: InputGradient(variant="l2", **kw),
}


def get_method(name: str, **settings) -> AttributionMethod:
    """An attribution method by name; a clear error for an unknown one."""
    if name not in METHODS:
        raise InputError(f"unknown attribution method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name](**settings)


__all__ = ["Attribution", "AttributionMethod", "InputGradient", "METHODS", "get_method"]
