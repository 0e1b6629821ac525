"""Attribution methods, one per module; each registers itself by name (``registry.py``).

The built-in methods load in a fixed order (the order ``known:`` lists them in); any other
module in this folder is a method too and is loaded after them, so a new method is one new
file (README, "Extending").
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Attribution, AttributionMethod, MethodResult, PerturbationMethod
from .registry import NEED_HINTS, REGISTRY, SCALES, MethodInfo, check_method, get_method, method_by_name, register

# The built-in methods, in the order ``known:`` lists them (importing a module registers it).
from .gradient import InputGradient
from .loo import LeaveOneOut
from .erasure import Erasure
from .captum_methods import IntegratedGradientsMethod, SmoothGradMethod
from .conformity import ConformityLOO
from .marginalization import Marginalization, marginalize_group

# Any other module here is a method that registers itself: a new method is a new file.
_HELPERS = ("base", "registry", "odds")
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _HELPERS):
    importlib.import_module(f"{__name__}.{_module}")

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
    "NEED_HINTS",
    "SCALES",
    "PerturbationMethod",
    "SmoothGradMethod",
    "get_method",
    "method_by_name",
]
