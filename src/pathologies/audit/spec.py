"""What an audit computes: methods, metrics, reduction and figure settings.

Everything is checked by :meth:`AuditSpec.validate` before any model call, so a bad name
never leaves a half-written run folder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..metrics import METRICS, check_needs, defaults, expand_metrics
from ..text import InputError


def reranked(metrics) -> list[str]:
    """The metrics among ``metrics`` that need a method able to score a changed input (imported scores cannot)."""
    return [m for m in metrics if METRICS[m].reranks]


@dataclass
class AuditSpec:
    """The settings of an audit (recorded in the manifest; a resume must match them).

    ``reduce``: ``"greedy"``, ``"beam:K"`` or None (no reduction records); ``reduce_by``:
    the importance method of that reduction (default: the first method, or gradient).
    ``curves``: store the confidence-after-removal curve of every example for the first
    method; ``show``: the first N examples also get a representation projection.
    ``chunk``: examples computed (and committed) together.
    """

    methods: list[str] = field(default_factory=lambda: ["gradient", "loo"])
    metrics: list[str] = field(default_factory=defaults)
    reduce: str | None = "greedy"
    reduce_by: str | None = None
    share: float = 0.10
    seed: int = 0
    chunk: int = 32
    curves: bool = True
    show: int = 5
    target: int | str | None = None
    #: A trust card per example (``pathologies.trust``): needs methods and comprehensiveness /
    #: sufficiency (added), uses the run's reduction and DkNN index when there are.
    trust: bool = False
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def beam(self) -> int:
        if self.reduce in (None, "greedy"):
            return 1
        return int(self.reduce.split(":", 1)[1])

    @property
    def reduction_method(self) -> str | None:
        if self.reduce is None:
            return None
        if self.reduce_by:
            return self.reduce_by
        own = [m for m in self.methods if m not in self.imports]
        return own[0] if own else "gradient"

    def validate(self, *, mlm: bool = False, index: bool = False) -> "AuditSpec":
        """Check every name and setting; returns the spec with metric groups expanded."""
        from ..attribution import REGISTRY, check_method  # lazy: the spec is built at CLI start-up, before torch

        available = [n for n, ok in (("mlm", mlm), ("index", index)) if ok]
        if not self.methods and self.reduce is None:
            raise InputError("nothing to compute: give --methods, or --reduce")
        seen = set()
        for name in self.methods:
            if name in seen:
                raise InputError(f"method {name!r} is listed twice")
            seen.add(name)
            if name in self.imports:
                if name in REGISTRY:
                    raise InputError(f"--as {name}: that is the name of a built-in method; choose another name")
                continue
            check_method(name, available)
        for name in self.method_settings:
            if name not in self.methods:
                raise InputError(f"settings given for {name!r}, which is not among the methods: {', '.join(self.methods)}")
        metrics = expand_metrics(self.metrics)
        if self.trust:
            if not self.methods:
                raise InputError("the trust check needs attribution methods: give --methods")
            metrics += [m for m in ("comprehensiveness", "sufficiency") if m not in metrics]
        check_needs(metrics, mlm=mlm, index=index)
        if metrics and not self.methods:
            raise InputError("metrics score attribution methods: give --methods too")
        if self.reduce is not None:
            kind, _, k = self.reduce.partition(":")
            if kind == "greedy" and not k:
                pass
            elif kind == "beam" and k.isdigit() and int(k) >= 1:
                pass
            else:
                raise InputError(f"--reduce takes greedy or beam:K (K a positive integer), not {self.reduce!r}")
            check_method(self.reduction_method, available)
            if self.reduction_method in self.imports:
                raise InputError("imported attributions cannot rank a reduction (they cannot score a changed input)")
        if not 0 < self.share <= 1:
            raise InputError(f"--share must be in (0, 1], not {self.share}")
        if self.chunk < 1:
            raise InputError("chunk must be a positive integer")
        if self.show < 0:
            raise InputError("show must be 0 or more")
        self.metrics = metrics
        return self
