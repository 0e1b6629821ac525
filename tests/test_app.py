"""The local app (``pathologies serve``), started on a free port of 127.0.0.1 and driven by a real
browser (Debian's Chromium through Selenium and chromium-driver): browse a run made here with
hostile texts, filter, open an example, step through its reduction, check a sentence live, edit
one word, two models side by side; requests for other files and malformed requests refused
while the server keeps serving; a run still being written; the ``serve`` command."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pathologies.audit import RunFolder, audit
from pathologies.audit.checking import check_spec
from pathologies.data import load_data
from tiny_models import BOW_VOCAB, make_bow

pytest.importorskip("starlette", reason="could not import starlette: pip install 'pathologies[app]'")
pytest.importorskip("uvicorn", reason="could not import uvicorn: pip install 'pathologies[app]'")

from pathologies.app import Live, RunIndex  # noqa: E402
from pathologies.app.server import Server, bind, create_app  # noqa: E402

SCRIPT = "<script>document.title='PWNED'</script>"
HOSTILE = [
    {"text": f"the movie was great fun {SCRIPT}", "label": "positive", "uid": 'u", "method": "x", "final": ["y"], "words": [1]'},
    {"text": "{{ 7*7 }} bad boring movie not fun", "label": "negative"},
    {"text": "the movie was not boring great", "label": "positive"},
    {"text": "bad movie {% if 1 %}x{% endif %} not great", "label": "negative"},
    {"text": "great great fun the movie", "label": "negative"},
    {"text": "boring the movie was bad", "label": "negative"},
    {"text": "fun fun great movie", "label": "positive"},
    {"text": "not bad not boring the movie", "label": "positive"},
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    data = root / "hostile.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in HOSTILE), encoding="utf-8")
    examples = load_data(str(data), labels=["negative", "positive"]).examples
    run = root / "run"
    # the cards judge the random heatmap (verdicts of every kind: it disagrees with gradient and LOO);
    # the reduction test still ranks by gradient
    spec = dataclasses.replace(check_spec(["random", "gradient", "loo"], beam=2), reduce_by="gradient")
    audit(make_bow(), examples, run, spec=spec, data_spec=str(data), show_progress=False)
    from pathologies.models import TextCNN

    cnn_dir = root / "textcnn"
    TextCNN.create(["negative", "positive"], BOW_VOCAB + ["was", "fun"], glove=False, seed=0, dim=8, filters=4).save(cnn_dir)
    config = json.loads((cnn_dir / "pathologies.json").read_text())
    (cnn_dir / "pathologies.json").write_text(json.dumps({**config, "inputs": "single"}))
    cnn = Live.load([str(cnn_dir)]).models[0].model
    live = Live([("bow", make_bow()), (str(cnn_dir), cnn)])
    other = root / "run-textcnn"  # the same data through another model: runs side by side
    audit(cnn, examples, other, spec=check_spec(["gradient", "loo"], beam=2), model_source=str(cnn_dir), data_spec=str(data),
          show_progress=False)
    server = Server(create_app([run, other], live), bind("127.0.0.1", 0)).start()
    yield {"url": server.url, "run": run, "root": root, "cnn": cnn_dir}
    server.stop()


def get(url: str, method: str = "GET") -> tuple[int, str, dict]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def raw(url: str, request: bytes) -> bytes:
    host, port = url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


# --- the browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (make browser installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="could not import selenium (the test extra)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path_factory.mktemp('profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shot(driver, tmp_path: Path, name: str) -> None:
    """Keep a screenshot of what the browser showed (a test artefact under tmp_path)."""
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000


def by(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def click(driver, css: str) -> None:
    """Click a link or button and wait for the page it opens (a live check may take a second)."""
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    old = by(driver, "body")[0]
    by(driver, css)[0].click()
    WebDriverWait(driver, 30).until(ec.staleness_of(old))
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def test_filter_sort_and_page_in_the_browser(world, browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    browser.get(world["url"])
    assert browser.title == "pathologies · pathologies"
    click(browser, "a[href='/run/0']")
    assert len(by(browser, "tr.ex")) == len(HOSTILE)
    Select(by(browser, "select[name=pred]")[0]).select_by_visible_text("negative")
    Select(by(browser, "select[name=sort]")[0]).select_by_visible_text("confidence")
    Select(by(browser, "select[name=order]")[0]).select_by_visible_text("desc")
    click(browser, "#apply")
    rows = by(browser, "tr.ex")
    assert rows and "pred=negative" in browser.current_url
    assert {r.find_elements("css selector", "td")[3].text for r in rows} == {"negative"}
    conf = [float(r.find_elements("css selector", "td")[4].text) for r in rows]
    assert conf == sorted(conf, reverse=True)
    assert by(browser, "#count")[0].text.startswith(f"{len(rows)} of {len(HOSTILE)} examples")
    shot(browser, tmp_path, "filtered")
    browser.get(world["url"] + "run/0?correct=no&per=25")
    wrong = by(browser, "tr.ex")
    assert all("wrong" in (r.find_elements("css selector", "td")[3].get_attribute("class") or "") for r in wrong)
    browser.get(world["url"] + "run/0?min_reduced=2")
    assert all(int(r.find_elements("css selector", "td")[6].text) >= 2 for r in by(browser, "tr.ex"))


def test_example_heatmaps_card_and_reduction_steps(world, browser, tmp_path):
    browser.get(world["url"] + "run/0")
    click(browser, "tr.ex a")
    assert "/run/0/example/0" in browser.current_url
    rows = by(browser, ".heat .method")
    assert [r.text for r in rows[:3]] == ["random", "gradient", "loo"]  # one row per method, in the run's order
    assert by(browser, "#card .trust-card")
    browser.get(world["url"] + "run/0/example/0?step=0")
    assert "step 0 of" in browser.page_source and not by(browser, "#removed")
    steps_total = int(by(browser, "h2")[1].text.split(" of ")[1])
    click(browser, "#step-next")
    assert "step=1" in browser.current_url
    removed = by(browser, "#removed")[0].text
    assert removed.startswith("Removed so far: ") and "(then 0." in removed
    assert len(by(browser, "#reduction .heat")) == 2  # the original and the state after one removal
    click(browser, "#step-back")
    assert len(by(browser, "#reduction .heat")) == 1
    browser.get(world["url"] + f"run/0/example/0?step={steps_total}")
    assert not by(browser, "#step-next") and "random removal to the same length" in browser.page_source
    shot(browser, tmp_path, "example")
    browser.get(world["url"] + "run/0/example/2")
    click(browser, "#open-live")  # the example in the live form, checked by the first model
    assert by(browser, "#text")[0].get_attribute("value") == "the movie was not boring great"
    assert [w.text for w in by(browser, ".heatmaps .heat")[0].find_elements("css selector", "span.w")] == "the movie was not boring great".split()


def test_runs_on_the_same_data_side_by_side(world, browser, tmp_path):
    browser.get(world["url"] + "run/0/example/4")
    cols = by(browser, "#others > div")
    assert len(cols) == 2 and cols[1].find_elements("css selector", "h3")[0].text == "run-textcnn"
    assert cols[1].location["x"] > cols[0].location["x"] + 300
    assert all(c.find_elements("css selector", ".trust-card") for c in cols)
    assert [w.text for w in cols[1].find_elements("css selector", ".heat")[0].find_elements("css selector", "span.w")] == HOSTILE[4]["text"].split()
    shot(browser, tmp_path, "runs-side-by-side")
    click(browser, "#others .other-run h3 a")
    assert browser.current_url.endswith("/run/1/example/4")


def test_hostile_texts_are_shown_literally(world, browser, tmp_path):
    browser.get(world["url"] + "run/0/example/0")
    assert browser.title != "PWNED" and "PWNED" not in browser.title
    assert SCRIPT in by(browser, "body")[0].text  # shown as text, never run
    browser.get(world["url"] + "run/0/example/1")
    body = by(browser, "body")[0].text
    assert "{{ 7*7 }} bad" in body and "49" not in body  # never evaluated
    browser.get(world["url"] + "run/0/example/3")
    assert "{%" in by(browser, "body")[0].text
    status, html, headers = get(world["url"] + "run/0/example/0")
    assert "&lt;script&gt;document.title=" in html and "<script" not in html.lower()
    assert "script-src" not in headers["content-security-policy"] and "default-src 'none'" in headers["content-security-policy"]
    # typed in the live form: the same
    browser.get(world["url"] + "live")
    box = by(browser, "#text")[0]
    box.send_keys("great {{ 7*7 }} " + SCRIPT)
    click(browser, "#run")
    assert browser.title.startswith("Live check") and "PWNED" not in browser.title
    words = [w.text for w in by(browser, ".model-result .heatmaps .heat")[0].find_elements("css selector", "span.w")]
    assert words == ["great", "{{", "7*7", "}}", "<script>document.title='PWNED'</script>"]
    shot(browser, tmp_path, "hostile")


def test_live_edit_one_word_and_see_what_moved(world, browser, tmp_path):
    browser.get(world["url"] + "live")
    by(browser, "#text")[0].send_keys("the movie was great fun")
    click(browser, "#run")
    before = [w.get_attribute("title") for w in by(browser, ".heatmaps .heat")[0].find_elements("css selector", "span.w")]
    assert before[3] == "+1.0000"  # gradient of the BoW model: weight / 2 per word, scaled... the top word
    assert by(browser, ".model-result .trust-card") and "Input reduction" in browser.page_source
    edit = by(browser, "#edit")[0]
    edit.clear()
    edit.send_keys("the movie was bad fun")
    click(browser, "#run")
    moved = by(browser, "#moved")[0].text
    assert moved.startswith("predicted positive") and "→ negative" in moved and "gone: great" in moved
    after = [w.text for w in by(browser, ".edited .heat")[0].find_elements("css selector", "span.w")]
    assert after == ["the", "movie", "was", "bad", "fun"]
    diff = by(browser, ".diff .heat")[0].find_elements("css selector", "span.w")
    assert "m" in diff[3].get_attribute("class").split()  # the changed word is outlined
    # toward the original class (positive): 'bad' has -2.5 / 2 of evidence; unchanged words move 0
    assert [d.get_attribute("title") for d in diff] == ["+0.0000", "+0.0000", "+0.0000", "-1.2500", "+0.0000"]
    more = by(browser, "details.edited-more")[0]
    more.click()  # open it: the edited text's own reduction path and card
    assert "label kept negative" in more.text and "predicted negative" in more.text
    shot(browser, tmp_path, "live-edit")


def test_two_models_side_by_side(world, browser, tmp_path):
    browser.get(world["url"] + "live")
    by(browser, "#text")[0].send_keys("the movie was great fun")
    boxes = by(browser, "input[name=model]")
    assert len(boxes) == 2
    for b in boxes:
        if not b.is_selected():
            b.click()
    click(browser, "#run")
    cols = by(browser, ".model-result")
    assert len(cols) == 2, by(browser, "body")[0].text[:600]
    assert [c.find_elements("css selector", "h2")[0].text for c in cols] == ["bow", "textcnn"]
    left, right = (c.location["x"] for c in cols)
    assert right > left + 300  # side by side, not stacked
    assert all(c.find_elements("css selector", ".trust-card") for c in cols)
    shot(browser, tmp_path, "two-models")


def test_corpus_view_links_to_its_examples(world, browser):
    browser.get(world["url"] + "run/0/corpus")
    links = by(browser, "#decisive a") + by(browser, "#important a")
    assert links
    word = links[0].text
    click(browser, "#decisive a, #important a")
    rows = by(browser, "tr.ex")
    assert rows and "/run/0?" in browser.current_url
    assert by(browser, "#count")[0].text.split(" of ")[0] == str(len(rows))
    assert word


# --- HTTP, no browser needed ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["../manifest.json", "%2e%2e/%2e%2e/etc/passwd", "run/0/records/attributions.jsonl", "run/0/../../etc/passwd",
     "run/0/example/0/../../../manifest.json", "static/..%2f..%2fpyproject.toml", "run/2", "run/-1", "live/../run/0/manifest.json",
     "run/0/corpus?name=../../etc/passwd"],
)
def test_nothing_outside_the_runs_is_served(world, path):
    status, html, _ = get(world["url"] + path)
    assert status in (400, 404), (path, status)
    assert "root:" not in html and '"model":' not in html and "[project]" not in html
    assert 'id="error"' in html


@pytest.mark.parametrize(
    "path, status, says",
    [
        ("run/0?page=x", 400, "page: a whole number"), ("run/0?sort=danger", 400, "sort: one of"),
        ("run/0?pred=%3Cb%3Ex", 400, "no class &#39;&lt;b&gt;x&#39;"), ("run/0?page=99", 404, "page 99"),
        ("run/0/example/99", 404, "no example 99"), ("run/0/example/0?step=999", 400, "step:"),
        ("live?methods=nope&text=x", 400, "is not available"), ("live?model=7&text=x", 400, "model:"),
        ("live?text=" + "a" * 5001, 400, "at most 5000"), ("live?pair=yes&premise=x", 400, "both a premise"),
        ("?x=1", 400, "takes no parameters"),
    ],
)
def test_bad_requests_get_a_clear_message(world, path, status, says):
    got, html, _ = get(world["url"] + path)
    assert got == status and says in html


def test_every_filter_agrees_with_the_index(world):
    """Each filter's count on the page is the number of indexed rows that pass it."""
    index = RunIndex(world["run"], 0)
    rows = list(index.rows.values())
    cases = {
        "label=positive": lambda r: r.label == "positive", "pred=negative": lambda r: r.predicted == "negative",
        "verdict=caution": lambda r: r.verdict == "caution", "correct=no": lambda r: r.correct is False,
        "disagree=yes": lambda r: r.agreement in ("warn", "bad"), "disagree=no": lambda r: r.agreement not in ("warn", "bad"),
        "min_reduced=2&max_reduced=3": lambda r: r.reduced is not None and 2 <= r.reduced <= 3,
        "max_reduced=1": lambda r: r.reduced is not None and r.reduced <= 1,
        "word=BORING": lambda r: "boring" in r.text.split(), "reduced=Great": lambda r: r.reduced_to == "great",
    }
    wants = {}
    for query, keep in cases.items():
        status, html, _ = get(world["url"] + "run/0?" + query)
        want = sum(map(keep, rows))
        wants[query] = want
        assert status == 200 and f">{want} of {len(rows)} examples" in html and html.count('<tr class="ex">') == want, query
    assert all(0 < n < len(rows) for q, n in wants.items() if not q.startswith(("min_reduced", "max_reduced"))), wants


def test_live_with_a_dknn_index_offers_conformity_and_credibility():
    from pathologies import Example
    from pathologies.dknn import DkNN

    model = make_bow()
    train = [Example.from_text(t, label=y) for t, y in [("great fun", 1), ("fun movie", 1), ("great", 1), ("bad boring", 0), ("bad movie", 0), ("boring", 0)]]
    cal = [Example.from_text(t, label=y) for t, y in [("great movie", 1), ("bad", 0), ("the fun", 1), ("not great", 0)]]
    dknn = DkNN(k=2).fit(model, train).calibrate(model, cal)
    live = Live([("bow", model)], index=dknn)
    assert "conformity" in live.methods() and not any(m.startswith("marginalization") for m in live.methods())
    server = Server(create_app([], live), bind("127.0.0.1", 0)).start()
    try:
        status, html, _ = get(server.url + "live?text=the+movie+was+great+fun&methods=gradient&methods=conformity&beam=0")
        assert status == 200 and '<span class="method">conformity</span>' in html and ">dknn<" in html
        assert get(server.url + "live?text=great&methods=marginalization-adaptive")[0] == 400  # no --mlm given
    finally:
        server.stop()


def test_a_sentence_pair_live(world):
    status, html, _ = get(world["url"] + "live?" + "pair=yes&premise=a+man+sleeps&hypothesis=nobody+is+%3Cb%3Esleeping%3C/b%3E&beam=1")
    assert status == 200 and "fixed: a man sleeps" in html and "&lt;b&gt;sleeping&lt;/b&gt;" in html
    assert html.count('class="model-result"') == 1 and "Input reduction" in html


def test_malformed_requests_are_answered_and_the_server_keeps_serving(world):
    assert raw(world["url"], b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(world["url"], b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(world["url"], b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(world["url"], b"GET /run/0?page=%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").split(b" ")[1] in (b"400", b"404")
    huge = b"GET /live?text=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert raw(world["url"], huge).startswith(b"HTTP/1.1 400")
    odd = raw(world["url"], b"GET /live?text=%00%ff%3Cx%3E&beam=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert odd.startswith(b"HTTP/1.1 200") and b"&lt;x&gt;" in odd and b"<x>" not in odd
    assert get(world["url"], method="POST")[0] == 405
    assert get(world["url"] + "run/0", method="DELETE")[0] == 405
    status, html, headers = get(world["url"])
    assert status == 200 and "run" in html and headers["x-content-type-options"] == "nosniff"


def test_a_run_being_written_is_read_to_its_last_commit(world, tmp_path):
    src = RunFolder(world["run"])
    records = {k: src.read(k) for k in ("attributions", "metrics", "reductions", "trust")}
    growing = RunFolder(tmp_path / "growing")
    growing.start(src.manifest())
    half = len(HOSTILE) // 2

    def chunk(c: int, lo: int, hi: int) -> None:
        growing.commit(c, {k: [r for r in v if lo <= r["index"] < hi] for k, v in records.items()})

    chunk(0, 0, half)
    with (growing.path / "records" / "attributions.jsonl").open("ab") as fh:
        fh.write(b'{"index": 99, "torn')  # an uncommitted, cut line: never read
    server = Server(create_app([growing.path]), bind("127.0.0.1", 0)).start()
    try:
        status, html, _ = get(server.url + "run/0")
        assert status == 200 and f"{half} of {half} examples" in html and "being written" in html
        assert get(server.url + f"run/0/example/{half}")[0] == 404
        growing._recover()  # what the audit does when it resumes
        chunk(1, half, len(HOSTILE))
        status, html, _ = get(server.url + "run/0")
        assert f"{len(HOSTILE)} of {len(HOSTILE)} examples" in html
        assert get(server.url + f"run/0/example/{half}")[0] == 200
        assert "being written" in get(server.url + "run/0/corpus")[1]
    finally:
        server.stop()


def test_an_interrupted_audit_is_browsed_and_its_resume_appears(world, tmp_path):
    """A real audit stopped after two chunks (as by a kill): the app shows the committed examples;
    the same command resumes it, and the app shows the rest and the corpus view."""
    from pathologies.audit.compute import audit_chunk

    examples = load_data(str(world["root"] / "hostile.jsonl"), labels=["negative", "positive"]).examples
    spec = check_spec(["gradient", "loo"], beam=2, chunk=2)
    folder = tmp_path / "interrupted"

    class Killed(Exception):
        pass

    def two_chunks_then_die(exs, pending, plan, commit, advance):
        for c, pos in pending[:2]:
            commit(c, audit_chunk(make_bow(), [exs[i] for i in pos], pos, plan))
        raise Killed

    with pytest.raises(Killed):
        audit(make_bow(), examples, folder, spec=spec, executor=two_chunks_then_die, show_progress=False)
    server = Server(create_app([folder]), bind("127.0.0.1", 0)).start()
    try:
        status, html, _ = get(server.url)
        assert status == 200 and f"4 of {len(HOSTILE)} (being written)" in html
        assert ">4 of 4 examples" in get(server.url + "run/0")[1]
        assert "stored when it finishes" in get(server.url + "run/0/corpus")[1]
        audit(make_bow(), examples, folder, spec=spec, show_progress=False)  # the resume
        html = get(server.url + "run/0")[1]
        assert f">{len(HOSTILE)} of {len(HOSTILE)} examples" in html and "being written" not in html
        assert get(server.url + f"run/0/example/{len(HOSTILE) - 1}")[0] == 200
        corpus = get(server.url + "run/0/corpus")[1]
        assert 'id="decisive"' in corpus and "stored when it finishes" not in corpus
    finally:
        server.stop()


def test_serve_command_prints_one_address_line_and_serves(world, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathologies.cli", "serve", str(world["run"]), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("pathologies app: http://127.0.0.1:") and line.endswith("(Ctrl-C stops it)"), (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split()[2]
        status, html, _ = get(url)
        assert status == 200 and "run" in html
        assert get(url + "live")[0] == 404  # no model: browse only
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathologies.cli", "serve", "--model", str(world["cnn"]), "--port", "0", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = proc.stdout.readline().split()[2]
        status, html, _ = get(url + "live?text=the+movie+was+great+fun&beam=0")
        assert status == 200 and html.count('class="model-result"') == 1 and "trust-card" in html
        assert get(url + "run/0")[0] == 404  # no run: live only
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = subprocess.run([sys.executable, "-m", "pathologies.cli", "serve"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().startswith("error: give run folders")
    out = subprocess.run([sys.executable, "-m", "pathologies.cli", "serve", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "is not a run folder" in out.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "pathologies.cli", "serve", str(world["run"]), "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}") and out.stdout == ""


def test_the_index_reads_what_a_full_parse_reads(world, monkeypatch):
    """The index decodes only the fields it needs from each line; the same rows as parsing all."""
    parsed_whole = []
    add = RunIndex._add
    monkeypatch.setattr(RunIndex, "_add", lambda self, kind, *a: (parsed_whole.append(kind), add(self, kind, *a))[1])
    fast = RunIndex(world["run"], 0)
    assert set(parsed_whole) == {"metrics"}  # the long lines were read in place

    def refuse(*args):
        raise ValueError("parse it all")

    monkeypatch.setattr(RunIndex, "_add_fast", refuse)
    slow = RunIndex(world["run"], 0)
    assert {i: vars(r) for i, r in fast.rows.items()} == {i: vars(r) for i, r in slow.rows.items()}
    assert fast.rows[0].uid == 'u", "method": "x", "final": ["y"], "words": [1]' and fast.rows[0].reduced >= 1


def test_browsing_imports_no_torch():
    code = ("import sys; from pathologies.app.server import create_app; from pathologies.app import RunIndex; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
