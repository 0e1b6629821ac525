"""Run an audit's chunks on Ray actors (``pip install 'pathologies[ray]'``).

``audit(model, data, out, spec=..., executor=RayExecutor(workers=8))`` or
``pathologies audit ... --executor ray --workers 8``.

Each actor loads the model once, by the folder or hub name the run records (never by
pickling the driver's model), rebuilds the plan (methods, masked LM, DkNN index) from the
same paths, and computes whole chunks with :func:`audit_chunk`: a fresh scoring engine per
chunk, the same examples in the same order, so a chunk computed on an actor holds the same
records as the local executor's (same software, device and thread count). Chunks are handed
out one at a time: an actor gets the next pending chunk when it returns one, so fast and
slow actors stay busy. The driver commits each chunk to the run folder as it arrives (in
any order, once); a killed driver resumes from the folder. An actor that dies (its process
killed, its machine lost) is replaced and its chunk computed again; a chunk that kills its
actor ``max_attempts`` times stops the run with the actors' error.

Paths (model folder, ``--mlm``, ``--index``, ``--import`` files) must be readable on every
node: on one machine they are; on a cluster, put them on shared storage or use a hub name.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, Callable, Sequence

from ..text import Example, InputError

#: Object store of a local Ray started here: records travel through it, nothing large.
LOCAL_OBJECT_STORE = 256 * 1024**2


def _ray():
    try:
        import ray
    except ImportError as err:  # pragma: no cover - the extra is installed by `make test`
        raise InputError("the Ray executor needs Ray: pip install 'pathologies[ray]'") from err
    return ray


class _Worker:
    """One Ray actor: the model loaded once, the plan rebuilt once, chunks computed on request."""

    def __init__(self, sources: dict[str, Any], spec, device: str, threads: int):
        import torch

        from ..models import load_classifier
        from .run import build_plan

        if threads:
            torch.set_num_threads(threads)
        self.model = load_classifier(sources["model"], device=device)
        self.plan = build_plan(spec, mlm=sources.get("mlm"), index=sources.get("index"))
        self.plan.sources = dict(sources, device=device)

    def pid(self) -> int:
        return os.getpid()

    def threads(self) -> int:
        import torch

        return torch.get_num_threads()

    def run(self, chunk: int, examples: list[dict[str, Any]], positions: list[int]):
        from .compute import audit_chunk

        records = audit_chunk(self.model, [Example.from_dict(d) for d in examples], positions, self.plan)
        return chunk, records


class RayExecutor:
    """An ``audit`` executor that spreads the pending chunks over Ray actors.

    ``address``: a running cluster (``ray start --head`` prints it; ``"auto"`` finds a local
    one; default: ``$RAY_ADDRESS``); None starts a local Ray for the run (``workers × threads_per_worker`` CPUs, no
    dashboard, a small object store) and shuts it down afterwards; an already connected
    Ray (``ray.init`` called by the caller) is used as it is. ``workers``: actors, each
    holding ``threads_per_worker`` CPUs (its torch thread count) and ``gpus_per_worker`` GPUs
    (a worker with a GPU runs on ``cuda``, one without on ``cpu``). ``max_attempts``: times a
    chunk may lose its actor before the run stops. ``init_kwargs`` go to ``ray.init``.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int = 2,
        gpus_per_worker: float = 0,
        threads_per_worker: int = 1,
        *,
        max_attempts: int = 3,
        object_store_memory: int = LOCAL_OBJECT_STORE,
        init_kwargs: dict[str, Any] | None = None,
    ):
        if workers < 1:
            raise InputError("--workers must be 1 or more")
        if threads_per_worker < 1:
            raise InputError("--threads-per-worker must be 1 or more")
        if gpus_per_worker < 0:
            raise InputError("--gpus-per-worker must be 0 or more")
        if max_attempts < 1:
            raise InputError("max_attempts must be 1 or more")
        self.address = address
        self.workers = workers
        self.gpus_per_worker = gpus_per_worker
        self.threads_per_worker = threads_per_worker
        self.max_attempts = max_attempts
        self.object_store_memory = object_store_memory
        self.init_kwargs = dict(init_kwargs or {})
        #: What the last run did: actors started (replacements included), actor deaths,
        #: chunks committed.
        self.stats: dict[str, Any] = {}
        #: Called with each new actor handle (tests use it to find an actor's process).
        self.on_actor: Callable[[Any], None] | None = None

    def describe(self) -> dict[str, Any]:
        """What the run's manifest records of this executor (not part of the run's identity)."""
        return {
            "kind": "ray", "workers": self.workers, "threads_per_worker": self.threads_per_worker,
            "gpus_per_worker": self.gpus_per_worker,
            "address": self.address or os.environ.get("RAY_ADDRESS") or "a local Ray started for the run",
        }

    @property
    def device(self) -> str:
        return "cuda" if self.gpus_per_worker > 0 else "cpu"

    # --- checks before anything starts --------------------------------------------------
    def check(self, plan) -> None:
        """Raise :class:`InputError` when a worker could not rebuild ``plan`` from its sources."""
        sources = getattr(plan, "sources", None) or {}
        if not sources.get("model"):
            raise InputError(
                "the Ray executor loads the model by path or hub name on each worker: give the model's folder "
                "or hub name (audit(..., model_source=PATH), or the CLI's MODEL argument), not only a loaded model"
            )
        driver = str(sources.get("device") or "cpu").split(":")[0]
        if driver != self.device:
            raise InputError(
                f"the run's model is on {driver} but Ray workers with {self.gpus_per_worker:g} GPUs run on {self.device}: "
                f"load the model on {self.device} (--device {self.device}) or set --gpus-per-worker "
                "(the run folder records one device for all its records)"
            )
        if plan.mlm is not None and not sources.get("mlm"):
            raise InputError("the Ray executor loads the masked LM by path on each worker: give --mlm / mlm= as a folder")
        if plan.dknn is not None and not sources.get("index"):
            raise InputError("the Ray executor loads the DkNN index by path on each worker: give --index / index= as a folder")

    # --- Ray ------------------------------------------------------------------------------
    def _connect(self) -> bool:
        """Connect (or start a local Ray); True when this call started it (and must stop it)."""
        ray = _ray()
        if ray.is_initialized():
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine unasked
        kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level="warning", log_to_driver=False)
        address = self.address or os.environ.get("RAY_ADDRESS")  # ray.init's own default
        if address is None:
            kwargs.update(
                num_cpus=max(self.workers * self.threads_per_worker, 1),
                object_store_memory=self.object_store_memory,
            )
        else:
            kwargs["address"] = address
            kwargs.pop("include_dashboard")
        kwargs.update(self.init_kwargs)
        ray.init(**kwargs)
        return True

    def _new_actor(self, actor_class, plan):
        actor = actor_class.options(
            num_cpus=self.threads_per_worker, num_gpus=self.gpus_per_worker, max_restarts=0, max_concurrency=1
        ).remote(plan.sources, plan.spec, self.device, self.threads_per_worker)
        self.stats["actors_started"] += 1
        if self.on_actor is not None:
            self.on_actor(actor)
        return actor

    def __call__(
        self,
        examples: Sequence[Example],
        pending: Sequence[tuple[int, Sequence[int]]],
        plan,
        commit: Callable[[int, dict[str, list[dict[str, Any]]]], None],
        advance: Callable[[int], None],
    ) -> None:
        self.check(plan)
        self.stats = {"actors_started": 0, "actor_deaths": 0, "chunks": 0}
        if not pending:
            return
        ray = _ray()
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorDiedError, ActorUnavailableError)
        started = self._connect()
        actor_class = ray.remote(_Worker)
        actors: list = []
        try:
            queue = deque((c, list(pos)) for c, pos in pending)
            attempts: dict[int, int] = {}
            running: dict[Any, tuple[Any, int, list[int]]] = {}  # object ref -> (actor, chunk, positions)
            done: set[int] = set()

            def hand_out(actor) -> None:
                if not queue:
                    return
                c, pos = queue.popleft()
                ref = actor.run.remote(c, [examples[i].to_dict() for i in pos], pos)
                running[ref] = (actor, c, pos)

            for _ in range(min(self.workers, len(queue))):
                actors.append(self._new_actor(actor_class, plan))
            for actor in actors:
                hand_out(actor)
            while running:
                [ref], _ = ray.wait(list(running), num_returns=1)
                actor, c, pos = running.pop(ref)
                try:
                    chunk, records = ray.get(ref)
                except lost as err:
                    self.stats["actor_deaths"] += 1
                    attempts[c] = attempts.get(c, 0) + 1
                    if attempts[c] >= self.max_attempts:
                        raise RuntimeError(
                            f"chunk {c} lost its Ray worker {attempts[c]} times; last error: {err}"
                        ) from err
                    actors.remove(actor)
                    ray.kill(actor, no_restart=True)
                    queue.appendleft((c, pos))  # redone first, by a new actor
                    replacement = self._new_actor(actor_class, plan)
                    actors.append(replacement)
                    hand_out(replacement)
                    continue
                except ray.exceptions.RayTaskError as err:
                    cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else None
                    if isinstance(cause, InputError):
                        raise InputError(str(cause)) from err
                    raise
                assert chunk == c
                if c not in done:  # one commit per chunk, whatever Ray retried
                    done.add(c)
                    commit(c, records)
                    advance(len(pos))
                    self.stats["chunks"] += 1
                hand_out(actor)
        finally:
            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if started:
                ray.shutdown()


def executor_from_options(
    executor: str, *, address: str | None = None, workers: int = 2, gpus_per_worker: float = 0, threads_per_worker: int = 1
):
    """The executor the CLI's ``--executor`` names: None for local, a :class:`RayExecutor` for ray."""
    if executor == "local":
        if address is not None:
            raise InputError("--address is for --executor ray")
        return None
    if executor == "ray":
        _ray()
        return RayExecutor(address=address, workers=workers, gpus_per_worker=gpus_per_worker, threads_per_worker=threads_per_worker)
    raise InputError(f"--executor takes local or ray, not {executor!r}")
