"""The HTML report: self-contained, escaped, and rendered by a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pathologies import Example
from pathologies.audit import AuditSpec, audit
from pathologies.report.html import write_report
from tiny_models import make_bow

ATTACK = "<script>document.title='PWNED';alert(1)</script>"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    exs = [
        Example.from_text(f"the movie was great fun {ATTACK}", label=1, uid="x<b>1</b>"),
        Example.from_text("bad boring movie , not fun at all", label=0),
        Example.from_text("the movie was not boring great", label=1),
        Example.from_text("great", label=1),
    ]
    root = tmp_path_factory.mktemp("report")
    spec = AuditSpec(methods=["gradient", "loo"], show=3)
    runs = [audit(make_bow(), exs, root / name, spec=spec, show_progress=False) for name in ("before", "after")]
    out = root / "report.html"
    write_report(runs, out, n_show=3)
    return out


def test_report_is_self_contained_and_escapes_data(report):
    html = report.read_text()
    assert "<script" not in html.lower()  # the page has no scripts at all
    assert "&lt;script&gt;document.title=" in html
    assert "x&lt;b&gt;1&lt;/b&gt;" in html
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched from the network
    assert html.count("data:image/png;base64,") == 6  # 3 figures × 2 models side by side
    for text in ("Comp.", "Suff.", "Reduction paths", "before", "after"):
        assert text in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    flags = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]
    shot = tmp_path / "report.png"
    run = subprocess.run(
        flags + ["--window-size=1280,2000", f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000, run.stderr[-2000:]
    console = [l for l in run.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l or "Refused" in l]
    assert not console, console
    dom = subprocess.run(flags + ["--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<title>pathologies report (comparison)</title>" in dom and "PWNED</title>" not in dom
    assert "<table" in dom and 'src="data:image/png' in dom
    assert "&lt;script&gt;document.title=" in dom  # shown as text, never run


def test_report_adds_plausibility_and_dknn_figures(tmp_path):
    from pathologies.dknn import DkNN

    model = make_bow()
    exs = [
        Example(("the", "great", "fun", "movie"), label=1, tags=(2, 4, 3, 2)),
        Example(("bad", "boring", "movie"), label=0, tags=(0, 1, 2)),
        Example(("not", "boring", "great"), label=1, tags=(1, 1, 4)),
    ]
    train = [Example(("fun",), label=1), Example(("boring",), label=0)] * 3
    dknn = DkNN(k=2).fit(model, train).calibrate(model, train[:4])
    index = dknn.save(tmp_path / "index")
    spec = AuditSpec(methods=["loo"], metrics=["comprehensiveness", "iot", "neutral", "dknn"], show=2)
    run = audit(model, exs, tmp_path / "run", spec=spec, index=str(index), show_progress=False)
    html = write_report([run], tmp_path / "r.html", n_show=2).read_text()
    cells = lambda name: re.search(rf'<td title="[^"]*">{re.escape(name)} [↑↓]</td>\s*<td>([0-9.\-]+)</td>', html)  # noqa: E731
    for name in ("IoT", "neutral-word score", "DkNN credibility", "DkNN conformity"):
        assert cells(name), name
    assert "mean DkNN credibility, reduced inputs" in html
    with pytest.raises(Exception, match="index"):
        audit(model, exs, tmp_path / "x", spec=AuditSpec(methods=["loo"], metrics=["dknn"]), show_progress=False)
