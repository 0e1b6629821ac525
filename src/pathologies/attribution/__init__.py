"""Attribution methods, one per module, all returning :class:`Attribution` records."""

from __future__ import annotations

from ..text import InputError
from .base import Attribution, AttributionMethod, PerturbationMethod
from .captum_methods import IntegratedGradientsMethod, SmoothGradMethod
from .conformity import ConformityLOO
from .erasure import Erasure
from .gradient import InputGradient
from .loo import LeaveOneOut
from .marginalization import Marginalization, marginalize_group

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
    "conformity": lambda **kw: ConformityLOO(**{"score": "conformity", **kw}),
    "marginalization": lambda **kw: Marginalization(**kw),
    "marginalization-adaptive": lambda **kw: Marginalization(**{"mode": "adaptive", **kw}),
    "conformity-credibility": lambda **kw: ConformityLOO(score="credibility", **kw),
}


def get_method(name: str, **settings) -> AttributionMethod:
    """An attribution method by name; a clear error for an unknown one or a bad setting."""
    if name not in METHODS:
        raise InputError(f"unknown attribution method {name!r}; known: {', '.join(METHODS)}")
    if name.startswith("marginalization") and "mlm" not in settings:
        raise InputError(f"{name} needs a masked LM: --mlm DIR (train one with `pathologies train-mlm`)")
    try:
        return METHODS[name](**settings)
    except TypeError as err:
        raise InputError(f"bad setting for {name}: {err}") from err


def method_by_name(name: str, *, mlm=None, index=None) -> AttributionMethod:
    """A method by name, given the shared resources it may need: a masked LM for
    marginalization, a DkNN index for conformity (others take neither)."""
    if name.startswith("marginalization"):
        return get_method(name, **({"mlm": mlm} if mlm is not None else {}))
    if name.startswith("conformity"):
        return get_method(name, **({"index": index} if index is not None else {}))
    return get_method(name)


__all__ = [
    "Attribution",
    "AttributionMethod",
    "ConformityLOO",
    "Erasure",
    "InputGradient",
    "IntegratedGradientsMethod",
    "LeaveOneOut",
    "Marginalization",
    "marginalize_group",
    "METHODS",
    "PerturbationMethod",
    "SmoothGradMethod",
    "get_method",
    "method_by_name",
]
