"""Run an audit's chunks on Ray actors (``pip install 'pathologies[ray]'``).

``audit(model, data, out, spec=..., executor=RayExecutor(workers=8))`` or
``pathologies audit ... --executor ray --workers 8``.

Each actor loads the model once, by the folder or hub name the run records (never by
pickling the driver's model), rebuilds the plan (methods, masked LM, DkNN index) from the
same paths, and computes whole chunks with :func:`audit_chunk`: a fresh scoring engine per
chunk, the same examples in the same order, so a chunk computed on an actor holds the same
records as the local executor's (same software, device and thread count). Chunks are handed
out one at a time: an actor gets the next pending chunk when it returns one, so fast and
slow actors stay busy. The driver commits the chunks to the run folder in chunk order, once
each: a chunk that finishes early waits (at most ``window`` chunks ahead of the first one
not yet back), so the record files are byte for byte those of the local executor, and a
killed driver resumes from the folder. An actor that dies (its process killed) is replaced
and its chunk computed again; a chunk that kills its actor ``max_attempts`` times stops the
run with the actors' error.

Faults of the cluster never hang the driver: it waits for results ``poll_s`` seconds at a
time and in between checks the cluster (the processes of a local Ray it started, every
node's liveness in ``ray.nodes()``, the CPUs left for a worker). When the driver's own node
dies (its raylet exits), the cluster's head does not answer, or no node is left that could
run a worker, the run stops with one line (:class:`ClusterLost`) that says what happened,
how many chunks were committed, and to run the same command again to resume. Actors on
another node that dies are replaced as killed ones are. A local Ray started for the run goes
with its driver: a watchdog process kills what is left of it when the driver is killed.

Paths (model folder, ``--mlm``, ``--index``, ``--import`` files) must be readable on every
node: on one machine they are; on a cluster, put them on shared storage or use a hub name.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any, Callable, Sequence

from ..text import Example, InputError

#: Object store of a local Ray started here: records travel through it, nothing large.
LOCAL_OBJECT_STORE = 256 * 1024**2


class ClusterLost(InputError):
    """The Ray cluster can no longer run the audit (a node died, the head does not answer):
    the committed chunks are kept; the message says how to resume."""


#: The watchdog of a local Ray started for a run: run as ``python -c WATCHDOG DRIVER_PID`` with
#: a pipe on stdin. It records the driver's Ray processes (descendants whose command line is
#: Ray's: raylet, gcs_server, ray:: workers and agents) every half second; at the end of the
#: pipe (the driver closed it after ``ray.shutdown()``, or was killed) it kills those still
#: alive: after a shutdown that left agents orphaned (a dead head), or after a kill -9.
WATCHDOG = r"""
import os, select, signal, sys, time
driver = int(sys.argv[1])
def table():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        out[int(d)] = (int(stat[1]), stat[19], cmd)
    return out
def rayish(cmd):
    return cmd.startswith(b"ray::") or b"/ray/" in cmd or b"raylet" in cmd or b"gcs_server" in cmd
seen = {}
def scan():
    procs = table()
    kids = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    todo = list(kids.get(driver, []))
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        if rayish(procs[pid][2]):
            seen[pid] = procs[pid][1]
    return procs
while True:
    scan()
    ready, _, _ = select.select([sys.stdin], [], [], 0.5)
    if ready and not os.read(sys.stdin.fileno(), 64):
        break
for _ in range(3):
    procs = table()
    for pid, start in list(seen.items()):
        if pid in procs and procs[pid][1] == start and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
"""


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
    ``poll_s``: seconds between checks of the cluster (never a wait without end); ``stall_s``:
    after a node died, seconds with no chunk back before the run stops (Ray fails the tasks of
    a dead node's actors well before); ``window``: chunks handed out beyond the first one not
    yet back (default 4 × workers), which bounds the finished chunks held for in-order commits.
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
        poll_s: float = 2.0,
        stall_s: float = 120.0,
        window: int | None = None,
    ):
        if workers < 1:
            raise InputError("--workers must be 1 or more")
        if threads_per_worker < 1:
            raise InputError("--threads-per-worker must be 1 or more")
        if gpus_per_worker < 0:
            raise InputError("--gpus-per-worker must be 0 or more")
        if max_attempts < 1:
            raise InputError("max_attempts must be 1 or more")
        if poll_s <= 0 or stall_s <= 0 or (window is not None and window < 1):
            raise InputError("poll_s and stall_s must be positive, window 1 or more")
        self.address = address
        self.workers = workers
        self.gpus_per_worker = gpus_per_worker
        self.threads_per_worker = threads_per_worker
        self.max_attempts = max_attempts
        self.object_store_memory = object_store_memory
        self.init_kwargs = dict(init_kwargs or {})
        #: Seconds between checks of the cluster while waiting for results.
        self.poll_s = poll_s
        #: After a node died: seconds with no chunk back before the run stops.
        self.stall_s = stall_s
        #: Chunks handed out beyond the first one not yet back (finished ones wait to be
        #: committed in order).
        self.window = window if window is not None else max(4 * workers, 8)
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
        self.stats = {"actors_started": 0, "actor_deaths": 0, "chunks": 0, "ray_messages": []}
        if not pending:
            return
        ray = _ray()
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorDiedError, ActorUnavailableError)
        # Before ray.init: a kill -9 while the local Ray starts leaves nothing behind either.
        watchdog = self._watchdog() if not ray.is_initialized() else None
        try:
            started = self._connect()
        except BaseException:
            if watchdog is not None:
                _release(watchdog)
            raise
        if not started and watchdog is not None:  # pragma: no cover - connected meanwhile
            _release(watchdog)
            watchdog = None
        local = self._local_processes() if started else {}
        quiet = _QuietRay()  # Ray's own error prints: kept in stats, the run says one line
        actor_class = ray.remote(_Worker)
        actors: list = []
        order = [c for c, _ in pending]  # the commit order: chunk order, as the local executor
        rank = {c: i for i, c in enumerate(order)}
        sizes = {c: len(pos) for c, pos in pending}
        finished: dict[int, dict[str, list[dict[str, Any]]]] = {}
        state = {"next": 0, "last_progress": time.monotonic()}
        try:
            self._node = ray.get_runtime_context().get_node_id()
            self._alive_at_start = {n["NodeID"] for n in ray.nodes() if n.get("Alive")}
            self._dead_since: float | None = None
            queue = deque((c, list(pos)) for c, pos in pending)
            attempts: dict[int, int] = {}
            running: dict[Any, tuple[Any, int, list[int]]] = {}  # object ref -> (actor, chunk, positions)
            idle: list = []
            done: set[int] = set()

            def hand_out(actor) -> None:
                if not queue or rank[queue[0][0]] >= state["next"] + self.window:
                    idle.append(actor)  # finished chunks wait for an earlier one: do not run ahead
                    return
                c, pos = queue.popleft()
                ref = actor.run.remote(c, [examples[i].to_dict() for i in pos], pos)
                running[ref] = (actor, c, pos)

            def commit_in_order() -> None:
                while state["next"] < len(order) and order[state["next"]] in finished:
                    c = order[state["next"]]
                    commit(c, finished.pop(c))
                    advance(sizes[c])
                    self.stats["chunks"] += 1
                    state["next"] += 1
                while idle and queue and rank[queue[0][0]] < state["next"] + self.window:
                    hand_out(idle.pop())

            for _ in range(min(self.workers, len(queue))):
                actors.append(self._new_actor(actor_class, plan))
            for actor in list(actors):
                hand_out(actor)
            checked = time.monotonic()
            while running:
                ready, _ = ray.wait(list(running), num_returns=1, timeout=self.poll_s)
                if not ready or time.monotonic() - checked > self.poll_s:  # also while results flow
                    self._check_cluster(ray, local, state, len(order))
                    checked = time.monotonic()
                if not ready:
                    continue
                [ref] = ready
                actor, c, pos = running.pop(ref)
                try:
                    chunk, records = ray.get(ref, timeout=max(self.poll_s, 30.0))
                except lost as err:
                    self.stats["actor_deaths"] += 1
                    attempts[c] = attempts.get(c, 0) + 1
                    if attempts[c] >= self.max_attempts:
                        last = next((x.strip() for x in str(err).splitlines() if x.strip()), type(err).__name__)
                        raise ClusterLost(f"chunk {c} lost its Ray worker {attempts[c]} times (last: {last[:200]})")
                    actors.remove(actor)
                    _forget(ray, actor)
                    self._check_cluster(ray, local, state, len(order))  # a dead node: say so, do not wait
                    queue.appendleft((c, pos))  # redone first, by a new actor
                    replacement = self._new_actor(actor_class, plan)
                    actors.append(replacement)
                    hand_out(replacement)
                    continue
                except ray.exceptions.GetTimeoutError:
                    running[ref] = (actor, c, pos)
                    self._check_cluster(ray, local, state, len(order))
                    continue
                except ray.exceptions.RayTaskError as err:
                    cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else None
                    if isinstance(cause, InputError):
                        raise InputError(str(cause)) from err
                    raise
                assert chunk == c
                state["last_progress"] = time.monotonic()
                if c not in done:  # one commit per chunk, whatever Ray retried
                    done.add(c)
                    finished[c] = records
                    commit_in_order()
                hand_out(actor)
            commit_in_order()
        except ClusterLost as err:
            self.stats["ray_messages"] = quiet.messages
            raise ClusterLost(
                f"{err}: {state['next']} of {len(order)} chunks of this session are committed in the run folder; "
                "run the same command again to resume (only the chunks not committed are computed)"
            ) from None
        finally:
            quiet.restore()
            self.stats["ray_messages"] = quiet.messages
            for actor in actors:
                _forget(ray, actor)
            try:
                if started:
                    ray.shutdown()
            finally:
                if watchdog is not None:
                    _release(watchdog)

    # --- faults -------------------------------------------------------------------------
    def _watchdog(self):
        """A process that kills this run's local Ray if the driver is killed (kill -9 included)."""
        import subprocess
        import sys

        try:
            return subprocess.Popen(
                [sys.executable, "-c", WATCHDOG, str(os.getpid())], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError:  # pragma: no cover - no /proc or no fork: Ray's own fate sharing only
            return None

    def _local_processes(self) -> dict[int, tuple[str, float]]:
        """The local Ray's head processes (raylet, gcs_server) started for this run."""
        try:
            import psutil

            out = {}
            for p in psutil.Process().children():
                try:
                    if p.name() in ("raylet", "gcs_server"):
                        out[p.pid] = (p.name(), p.create_time())
                except psutil.Error:
                    continue
            return out
        except Exception:  # noqa: BLE001 - psutil comes with Ray; without it, ray.nodes() alone
            return {}

    def _check_cluster(self, ray, local: dict[int, tuple[str, float]], state: dict, total: int) -> None:
        """Raise :class:`ClusterLost` when the run cannot go on; otherwise return."""
        for pid, (name, created) in local.items():
            if not _alive(pid, created):
                what = "raylet" if name == "raylet" else "head (gcs_server)"
                raise ClusterLost(f"the local Ray started for this run lost its {what} (pid {pid} exited)")
        nodes = _within(ray.nodes, 30.0)
        if nodes is None:
            raise ClusterLost("the Ray cluster's head (GCS) does not answer")
        alive = {n["NodeID"]: n for n in nodes if n.get("Alive")}
        if self._node not in alive:
            info = next((n for n in nodes if n["NodeID"] == self._node), {})
            where = info.get("NodeManagerAddress") or "this machine"
            raise ClusterLost(f"the Ray node of this driver ({where}, node {self._node[:8]}) died (its raylet exited)")
        dead = self._alive_at_start - set(alive)
        if dead:
            now = time.monotonic()
            self._dead_since = self._dead_since or now
            cpus = sum(float(n.get("Resources", {}).get("CPU", 0)) for n in alive.values())
            if cpus < self.threads_per_worker:
                raise ClusterLost(
                    f"{len(dead)} Ray node(s) died and no node left has {self.threads_per_worker} CPU(s) for a worker"
                )
            if now - max(self._dead_since, state["last_progress"]) > self.stall_s:
                raise ClusterLost(f"{len(dead)} Ray node(s) died and no chunk came back for {self.stall_s:g} s")


def _alive(pid: int, created: float) -> bool:
    try:
        import psutil

        p = psutil.Process(pid)
        return p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 - gone (or psutil missing: then the pid check alone)
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def _within(fn, seconds: float):
    """``fn()`` or None when it does not return within ``seconds`` (or raises)."""
    import threading

    box: list = []

    def call() -> None:
        try:
            box.append(fn())
        except Exception:  # noqa: BLE001 - an unreachable cluster: None
            pass

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    return box[0] if box else None


def _forget(ray, actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone
        pass


def _release(watchdog) -> None:
    """Tell the watchdog the local Ray was shut down: it kills what the shutdown left."""
    try:
        watchdog.stdin.close()
        watchdog.wait(timeout=5)
    except Exception:  # noqa: BLE001 - it is gone already
        pass


class _QuietRay:
    """Ray's driver prints the cluster's error messages (a dead raylet's last log lines) on
    stderr; during a run they are kept in a list instead, and the run says one line."""

    def __init__(self):
        self.messages: list[str] = []
        self._module = None
        try:
            import ray._private.worker as worker

            self._module, self._original = worker, worker.print_to_stdstream

            def keep(data, *args, **kwargs):
                lines = data.get("lines") or []
                self.messages.append(str(lines[0]) if lines else str(data)[:200])

            worker.print_to_stdstream = keep
        except Exception:  # noqa: BLE001 - another Ray: its prints stay
            self._module = None

    def restore(self) -> None:
        if self._module is not None:
            self._module.print_to_stdstream = self._original
            self._module = None


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
