"""The Ray executor on a local two-CPU cluster this module starts (and shuts down): records
equal the local executor's byte for byte (records, corpus tables), an actor killed mid-run is replaced and its chunk redone
(nothing lost, nothing duplicated), a killed driver resumes, a model given only in memory is
refused. Ray is part of `make test` (the ``ray`` extra): a Ray that cannot start fails here."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray  # not importorskip: CI must test the executor

from pathologies.audit import AuditSpec, RunFolder, audit
from pathologies.audit.folder import KINDS
from pathologies.audit.ray_executor import RayExecutor
from pathologies.data.files import load_file
from pathologies.models import load_classifier
from pathologies.text import InputError
from tiny_models import make_bert_dir, make_bow

METRICS = "comprehensiveness,sufficiency,ir,ur"
CHUNK = 3


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ctx = ray.init(
        num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2,
        logging_level="warning", log_to_driver=False,
    )
    yield ctx
    ray.shutdown()


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return make_bert_dir(tmp_path_factory.mktemp("bert") / "bert")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    words = "the a movie film was is great fun bad boring not very good awful".split()
    rng = random.Random(11)
    path = tmp_path_factory.mktemp("data") / "data.jsonl"
    path.write_text("".join(
        json.dumps({"text": " ".join(rng.choice(words) for _ in range(rng.randint(3, 14))), "label": i % 2}) + "\n"
        for i in range(36)
    ))
    return path


def spec():
    return AuditSpec(methods=["gradient", "loo"], metrics=METRICS.split(","), reduce="greedy", chunk=CHUNK, show=2)


def lines(path):
    """Every record file and corpus table, byte for byte (chunks are committed in chunk order
    whichever actor finishes first)."""
    files = {k: Path(path) / "records" / f"{k}.jsonl" for k in (*KINDS, "word_importance", "decisive_words")}
    return {k: f.read_bytes() if f.exists() else None for k, f in files.items()}


@pytest.fixture(scope="module")
def local(bert, data, tmp_path_factory):
    """The local executor's run, at the workers' thread count (1)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("local") / "run"
        audit(load_classifier(str(bert)), load_file(str(data)).examples, out, spec=spec(),
              model_source=str(bert), show_progress=False)
    finally:
        torch.set_num_threads(threads)
    return out


def chunk_ids(path):
    return [c["chunk"] for c in RunFolder(path).commits()]


def test_two_workers_give_the_local_records_exactly(cluster, bert, data, local, tmp_path):
    executor = RayExecutor(workers=2)
    pids = []
    executor.on_actor = lambda actor: pids.append(actor.pid.remote())  # runs before its first chunk
    run = audit(load_classifier(str(bert)), load_file(str(data)).examples, tmp_path / "ray", spec=spec(),
                model_source=str(bert), show_progress=False, executor=executor)
    assert lines(tmp_path / "ray") == lines(local)
    assert sorted(chunk_ids(tmp_path / "ray")) == list(range(12))
    assert {k: executor.stats[k] for k in ("actors_started", "actor_deaths", "chunks")} == {"actors_started": 2, "actor_deaths": 0, "chunks": 12}
    assert len(set(ray.get(pids))) == 2 and os.getpid() not in ray.get(pids)  # two worker processes
    assert run.table == RunFolder(local).summary()["methods"]
    undated = lambda d: {k: v for k, v in d.items() if k != "finished"}  # noqa: E731
    assert undated(RunFolder(tmp_path / "ray").summary()) == undated(RunFolder(local).summary())
    assert chunk_ids(tmp_path / "ray") == list(range(12))  # committed in chunk order


def test_a_killed_actor_is_replaced_and_its_chunk_redone(cluster, bert, data, local, tmp_path):
    executor = RayExecutor(workers=2)
    pids = []
    executor.on_actor = lambda actor: pids.append(actor.pid.remote())
    out = tmp_path / "ray"
    killed = []

    def kill_after_first_commit():
        while not (out / "commits.jsonl").exists() or not chunk_ids(out):
            time.sleep(0.005)
        pid = ray.get(pids[0])
        os.kill(pid, signal.SIGKILL)
        killed.append((pid, len(chunk_ids(out))))

    killer = threading.Thread(target=kill_after_first_commit, daemon=True)
    killer.start()
    audit(load_classifier(str(bert)), load_file(str(data)).examples, out, spec=spec(),
          model_source=str(bert), show_progress=False, executor=executor)
    killer.join(timeout=30)
    assert killed and killed[0][1] < 12, "the kill landed after the run"
    assert executor.stats["actor_deaths"] == 1 and executor.stats["actors_started"] == 3
    ids = chunk_ids(out)
    assert sorted(ids) == list(range(12)), ids  # every chunk committed once
    assert lines(out) == lines(local)


def _cli(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    exe = Path(sys.executable).parent / "pathologies"
    return subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_killed_driver_resumes_with_the_same_records(cluster, bert, data, local, tmp_path):
    out = tmp_path / "run"
    args = ["audit", str(bert), "--data", str(data), "--methods", "gradient,loo", "--metrics", METRICS,
            "--chunk", str(CHUNK), "--show", "2", "--out", str(out), "--executor", "ray", "--workers", "2",
            "--address", cluster.address_info["gcs_address"]]
    p = _cli(*args)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not ((out / "commits.jsonl").exists() and chunk_ids(out)):
        time.sleep(0.005)
    assert p.poll() is None, p.stderr.read().decode()[-3000:]
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert 1 <= len(chunk_ids(out)) < 12
    again = _cli(*args)
    _, err = again.communicate(timeout=180)
    assert again.returncode == 0, err.decode()[-3000:]
    assert "device: cpu" in err.decode()
    ids = chunk_ids(out)
    assert sorted(ids) == list(range(12)), ids
    assert lines(out) == lines(local)


def test_a_model_in_memory_is_refused_clearly(cluster, tmp_path):
    with pytest.raises(InputError, match="the Ray executor loads the model by path or hub name on each worker"):
        audit(make_bow(), ["great fun", "bad"], tmp_path / "run", spec=spec(), show_progress=False,
              executor=RayExecutor(workers=1))
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


def _local_ray_args(bert, data, out):
    """The CLI audit of the other tests, on a local Ray the toolkit starts (no --address)."""
    return ["audit", str(bert), "--data", str(data), "--methods", "gradient,loo", "--metrics", METRICS,
            "--chunk", str(CHUNK), "--show", "2", "--out", str(out), "--executor", "ray", "--workers", "2",
            "--device", "cpu"]


def _wait_for_a_commit(p, out, limit=180):
    deadline = time.time() + limit
    while time.time() < deadline and p.poll() is None and not ((out / "commits.jsonl").exists() and chunk_ids(out)):
        time.sleep(0.01)
    assert p.poll() is None, p.stderr.read().decode()[-3000:]


def _ray_descendants(pid):
    import psutil

    out = {}
    for c in psutil.Process(pid).children(recursive=True):
        try:
            out[c.pid] = (c.create_time(), c.name())
        except psutil.Error:
            pass
    return out


def _still_alive(procs):
    import psutil

    alive = []
    for pid, (created, name) in procs.items():
        try:
            q = psutil.Process(pid)
            if q.create_time() == created and q.status() != psutil.STATUS_ZOMBIE:
                alive.append(name)
        except psutil.Error:
            pass
    return alive


def test_a_dead_raylet_stops_the_run_with_one_line_and_the_same_command_resumes(bert, data, tmp_path):
    """The driver's own node dies (its raylet is killed): no hang, one line saying what
    happened and how to resume; the same command then finishes with the local records."""
    # Five times the data (60 chunks): at the first commit most chunks are still to come, so
    # the kill lands mid-run however fast the machine (with 12 chunks a quiet machine finished
    # them all before the driver's next check). The reference is the local executor's run.
    big = tmp_path / "big.jsonl"
    big.write_text(Path(data).read_text() * 5)
    reference = tmp_path / "local"
    args = _local_ray_args(bert, big, reference)
    i = args.index("--executor")
    ref = _cli(*(args[:i] + args[i + 4 :]))  # without --executor ray --workers 2
    _, ref_err = ref.communicate(timeout=300)
    assert ref.returncode == 0, ref_err.decode()[-3000:]
    out = tmp_path / "run"
    p = _cli(*_local_ray_args(bert, big, out))
    _wait_for_a_commit(p, out)
    assert len(chunk_ids(out)) < 30, "the run was nearly done before the raylet could be killed"
    raylets = [pid for pid, (_, name) in _ray_descendants(p.pid).items() if name == "raylet"]
    assert raylets, "the toolkit started no local Ray"
    os.kill(raylets[0], signal.SIGKILL)
    killed = time.time()
    _, err = p.communicate(timeout=120)  # before: the driver waited forever
    assert time.time() - killed < 60
    err = err.decode()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert p.returncode == 2 and len(errors) == 1 and "Traceback" not in err, err[-3000:]
    assert "lost its raylet" in errors[0] and "run the same command again to resume" in errors[0]
    assert err.splitlines()[-1] == errors[0]
    again = _cli(*_local_ray_args(bert, big, out))
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()[-3000:]
    assert lines(out) == lines(reference)


def test_a_killed_driver_takes_its_local_ray_with_it(bert, data, tmp_path):
    """kill -9 of a driver that started a local Ray: 3 s later none of its Ray processes is
    left (before the watchdog: the dashboard and runtime-env agents stayed, orphaned)."""
    out = tmp_path / "run"
    p = _cli(*_local_ray_args(bert, data, out))
    _wait_for_a_commit(p, out)
    procs = {}
    for _ in range(5):
        procs.update(_ray_descendants(p.pid))
        time.sleep(0.1)
    names = [n for _, n in procs.values()]
    assert "raylet" in names and "gcs_server" in names and sum(n.startswith("ray::_Worker") for n in names) == 2, names
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(3)
    assert _still_alive(procs) == []


def test_cluster_checks_stop_with_one_line_on_each_fault():
    """The checks between waits, on a fake cluster: the driver's node dead, the head silent, a
    node dead with no CPUs left or no chunk back for stall_s: each stops the run (ClusterLost);
    a node dead while others can take its work does not."""
    from pathologies.audit.ray_executor import ClusterLost

    class Fake:
        def __init__(self, nodes):
            self._nodes = nodes

        def nodes(self):
            if isinstance(self._nodes, Exception):
                raise self._nodes
            return self._nodes

    def node(i, alive=True, cpus=2.0):
        return {"NodeID": f"{i:08d}" * 4, "Alive": alive, "NodeManagerAddress": f"10.0.0.{i}", "Resources": {"CPU": cpus}}

    ex = RayExecutor(workers=2, stall_s=60)
    ex._node, ex._alive_at_start, ex._dead_since = node(1)["NodeID"], {node(1)["NodeID"], node(2)["NodeID"]}, None
    fresh = {"last_progress": time.monotonic()}
    ex._check_cluster(Fake([node(1), node(2)]), {}, fresh, 12)  # all well
    with pytest.raises(ClusterLost, match=r"the Ray node of this driver \(10.0.0.1, node 00000001\) died"):
        ex._check_cluster(Fake([node(1, alive=False), node(2)]), {}, fresh, 12)
    with pytest.raises(ClusterLost, match="does not answer"):
        ex._check_cluster(Fake(RuntimeError("GCS gone")), {}, fresh, 12)
    ex._check_cluster(Fake([node(1), node(2, alive=False)]), {}, fresh, 12)  # its actors are replaced
    with pytest.raises(ClusterLost, match="no node left has 1 CPU"):
        ex._check_cluster(Fake([node(1, cpus=0.0), node(2, alive=False)]), {}, fresh, 12)
    ex._dead_since = time.monotonic() - 120
    with pytest.raises(ClusterLost, match="no chunk came back for 60 s"):
        ex._check_cluster(Fake([node(1), node(2, alive=False)]), {}, {"last_progress": time.monotonic() - 120}, 12)
    with pytest.raises(ClusterLost, match=r"lost its raylet \(pid"):
        ex._check_cluster(Fake([node(1)]), {2**22 + 7: ("raylet", 1.0)}, fresh, 12)
