"""Attribution methods, one per module, all returning :class:`Attribution` records."""

from __future__ import annotations

from ..text import InputError
from .base import Attribution, AttributionMethod, PerturbationMethod
from .captum_methods import IntegratedGradientsMethod, SmoothGradMethod
from .erasure import Erasure
from .gradient import InputGradient
from .loo import LeaveOneOut

#: Method names users can pass, mapped to a factory taking the method's settings.
METHODS = {
    "gradient": lambda **kw: InputGradient(variant="signed", **kw),
    "gradient-abs": lambda **kw: InputGradient(variant="abs", **kw),
    "gradient-l2": lambda **kw: InputGradient(variant="l2", **kw),
    "loo": lambda **kw: LeaveOneOut(score="difference", **kw),
    "loo-log-odds": lambda **kw: LeaveOneOut(score="log-odds", **kw),
    "erasure-pad": lambda **kw: Erasure(baseline="pad", **kw),
    "erasure-unk": lambda **kw: Erasure(baseline="unk", **kw),
    "erasure-zero": lambda **kw: Erasure(baseline="zero", **kw),
    "integrated-gradients": lambda **kw: IntegratedGradientsMethod(**kw),
    "smoothgrad": lambda **kw: SmoothGradMethod(**kw),
}


def get_method(name: str, **settings) -> AttributionMethod:
    """An attribution method by name; a clear error for an unknown one or a bad setting."""
    if name not in METHODS:
        raise InputError(f"unknown attribution method {name!r}; known: {', '.join(METHODS)}")
    try:
        return METHODS[name](**settings)
    except TypeError as err:
        raise InputError(f"bad setting for {name}: {err}") from err


__all__ = [
    "Attribution",
    "AttributionMethod",
    "Erasure",
    "InputGradient",
    "IntegratedGradientsMethod",
    "LeaveOneOut",
    "METHODS",
    "PerturbationMethod",
    "SmoothGradMethod",
    "get_method",
]
