"""Attribution methods, one per module, all returning :class:`Attribution` records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..text import InputError
from .base import Attribution, AttributionMethod, MethodResult, PerturbationMethod
from .captum_methods import IntegratedGradientsMethod, SmoothGradMethod
from .conformity import ConformityLOO
from .erasure import Erasure
from .gradient import InputGradient
from .loo import LeaveOneOut
from .marginalization import Marginalization, marginalize_group

@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its factory, what it needs besides the model, a description."""

    name: str
    factory: Callable[..., AttributionMethod]
    needs: tuple[str, ...] = ()  # "mlm" (a masked LM) or "index" (a DkNN index)
    description: str = ""


#: Registered methods by name. A new method registers here with what it needs.
REGISTRY: dict[str, MethodInfo] = {}


def register(name: str, factory: Callable[..., AttributionMethod], *, needs: tuple[str, ...] = (), description: str = "") -> None:
    """Make a method available by name (to ``get_method``, the CLI and audits)."""
    REGISTRY[name] = MethodInfo(name, factory, needs, description)


register("gradient", lambda **kw: InputGradient(variant="signed", **kw), description="embedding · gradient, summed over pieces")
register("gradient-abs", lambda **kw: InputGradient(variant="abs", **kw), description="|embedding · gradient|")
register("gradient-l2", lambda **kw: InputGradient(variant="l2", **kw), description="L2 norm of the gradient")
register("loo", lambda **kw: LeaveOneOut(score="difference", **kw), description="leave-one-out by deletion")
register("loo-log-odds", lambda **kw: LeaveOneOut(score="log-odds", **kw), description="leave-one-out, weight of evidence")
register("erasure-pad", lambda **kw: Erasure(baseline="pad", **kw), description="word replaced by [PAD]")
register("erasure-unk", lambda **kw: Erasure(baseline="unk", **kw), description="word replaced by [UNK]")
register("erasure-zero", lambda **kw: Erasure(baseline="zero", **kw), description="word embedding set to zero")
register("integrated-gradients", lambda **kw: IntegratedGradientsMethod(**kw), description="Captum IntegratedGradients")
register("smoothgrad", lambda **kw: SmoothGradMethod(**kw), description="Captum NoiseTunnel over input × gradient")
register("conformity", lambda **kw: ConformityLOO(**{"score": "conformity", **kw}), needs=("index",), description="DkNN conformity leave-one-out")
register("conformity-credibility", lambda **kw: ConformityLOO(**{"score": "credibility", **kw}), needs=("index",), description="DkNN credibility leave-one-out")
register("marginalization", lambda **kw: Marginalization(**kw), needs=("mlm",), description="input marginalization over a masked LM")
register("marginalization-adaptive", lambda **kw: Marginalization(**{"mode": "adaptive", **kw}), needs=("mlm",), description="adaptive input marginalization with standard errors")

#: Method names users can pass, mapped to a factory taking the method's settings.
METHODS = {name: info.factory for name, info in REGISTRY.items()}

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


__all__ = [
    "Attribution",
    "AttributionMethod",
    "MethodInfo",
    "MethodResult",
    "REGISTRY",
    "check_method",
    "register",
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
