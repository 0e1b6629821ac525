"""The app's speed and memory (benchmarks/APP.md): a large run browsed page by page, and live checks.

    python benchmarks/bench_app.py browse --examples 25000 --words 230 --out /tmp/bench_app/imdb
    python benchmarks/bench_app.py browse --examples 25000 --words 19 --reduce --out /tmp/bench_app/sst
    python benchmarks/bench_app.py live --model DIR [--sentences 10]

``browse`` writes a synthetic run folder the way an audit does (``RunFolder.commit`` chunk by
chunk: attributions and metrics of gradient and LOO, trust cards, with ``--reduce`` greedy
reduction paths), with lengths drawn around ``--words`` (lognormal, like IMDB reviews or SST
sentences), then serves it on 127.0.0.1 and times the index (start-up), the first page, sorted
and filtered pages, example pages, and the server's resident memory before and after browsing
300 pages and 300 examples. ``live`` times live checks (gradient + LOO + greedy reduction + the
trust card) of 20-word sentences through the app's /live page: the first (cold), new sentences
(each uncached), and a repeat (the app's cache).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

WORDS = [f"w{k}" for k in range(5000)] + "the a movie film was great fun bad boring not very good awful .".split()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fetch(url: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
        status = r.status
    return time.perf_counter() - start, status, len(body)


def template_records(tmp: Path) -> tuple[dict, dict]:
    """A real manifest and trust card from a tiny audit (a TextCNN with random weights)."""
    from pathologies.audit import audit
    from pathologies.audit.checking import check_spec
    from pathologies.models import TextCNN

    model = TextCNN.create(["negative", "positive"], ["<pad>", "<unk>", "<sep>"] + WORDS[-14:], glove=False, seed=0, dim=8, filters=4)
    run = audit(model, ["the movie was great fun", "bad boring film"], tmp / "template", spec=check_spec(["gradient", "loo"], beam=1),
                show_progress=False)
    return run.manifest, run.records["trust"][0]


def synthesize(out: Path, n: int, words: int, reduce: bool, chunk: int = 500, seed: int = 0) -> None:
    from pathologies.audit import RunFolder
    from pathologies.audit.folder import write_json
    from pathologies.audit.loaded import summarize_run

    rng = random.Random(seed)
    manifest, card = template_records(out.parent)
    manifest["data"]["examples"] = n
    manifest["data"]["spec"] = f"synthetic:{n}x~{words}"
    manifest["spec"]["reduce"] = "greedy" if reduce else None
    folder = RunFolder(out)
    folder.start(manifest)
    small: dict[str, list] = {"metrics": [], "trust": []}
    verdicts = ("trust", "caution", "do not trust")
    for c, lo in enumerate(range(0, n, chunk)):
        recs: dict[str, list] = {"attributions": [], "metrics": [], "reductions": [], "trust": []}
        for i in range(lo, min(lo + chunk, n)):
            length = max(1, min(2000, int(rng.lognormvariate(math.log(words), 0.6))))
            ws = [rng.choice(WORDS) for _ in range(length)]
            p = rng.random()
            probs = [1 - p, p]
            pred, label = int(p > 0.5), rng.randrange(2)
            for m in ("gradient", "loo"):
                scores = [rng.gauss(0, 1) for _ in ws]
                recs["attributions"].append({
                    "index": i, "uid": f"#{i}", "method": m, "words": ws, "scores": scores, "target": pred, "probs": probs,
                    "label": label, "fixed": None, "fixed_first": True, "labels": ["negative", "positive"], "settings": {},
                    "errors": None, "bounds": None, "rows": length,
                })
                recs["metrics"].append({
                    "uid": f"#{i}", "method": m, "predicted": pred, "target": pred, "confidence": max(probs), "label": label,
                    "words": length, "comprehensiveness": rng.random(), "sufficiency": rng.random() - 0.5, "index": i,
                })
            if reduce:
                path, cur = [], list(ws)
                while True:
                    sc = [rng.gauss(0, 1) for _ in cur]
                    last = len(cur) <= 1 or rng.random() < 0.15
                    k = None if last else rng.randrange(len(cur))
                    path.append({"words": list(cur), "confidence": max(probs), "scores": sc, "removed": None if k is None else cur[k],
                                 "removed_index": k})
                    if last:
                        break
                    cur.pop(k)
                recs["reductions"].append({
                    "index": i, "uid": f"#{i}", "original": ws, "final": cur, "predicted": pred, "original_confidence": max(probs),
                    "final_confidence": max(probs), "path": path, "all_minimal": [cur], "model_calls": len(path) * 2,
                    "importance": "gradient", "beam": 1, "k": 1, "fixed": None, "fixed_first": True, "label": label,
                    "labels": ["negative", "positive"],
                    "random_baseline": {"words": cur, "confidence": 0.5, "predicted": pred, "kept_prediction": True},
                })
            recs["trust"].append({
                **card, "index": i, "uid": f"#{i}", "words": ws, "heatmap": recs["attributions"][-2]["scores"], "predicted": pred,
                "confidence": max(probs), "label": label, "verdict": rng.choice(verdicts), "score": rng.random(),
            })
        folder.commit(c, recs)
        small["metrics"] += recs["metrics"]
        small["trust"] += recs["trust"]
    write_json(out / "summary.json", summarize_run(small, manifest))


def browse(args) -> None:
    from pathologies.app.server import Server, bind, create_app

    out = Path(args.out)
    if not (out / "summary.json").is_file():  # an existing folder is measured as it is
        out.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        synthesize(out, args.examples, args.words, args.reduce)
        print(f"synthesized {args.examples} examples in {time.perf_counter() - t:.1f} s")
    size = sum(f.stat().st_size for f in (out / "records").glob("*.jsonl"))
    rss0 = rss_mb()
    t = time.perf_counter()
    app = create_app([out])
    index_s = time.perf_counter() - t
    server = Server(app, bind("127.0.0.1", 0)).start()
    rss1 = rss_mb()
    url = server.url
    manifest = json.loads((out / "manifest.json").read_text())
    reductions = (out / "records" / "reductions.jsonl").is_file()
    res = {"run": str(out), "data": manifest["data"]["spec"], "reductions": reductions, "records_mb": round(size / 2**20, 1),
           "index_s": round(index_s, 2), "rss_before_mb": round(rss0), "rss_indexed_mb": round(rss1)}
    res["first_page_s"] = round(fetch(url + "run/0")[0], 3)
    res["sorted_by_trust_s"] = round(fetch(url + "run/0?sort=trust&order=desc")[0], 3)
    res["filtered_s"] = round(fetch(url + "run/0?pred=positive&verdict=caution&correct=no&sort=confidence")[0], 3)
    res["word_filter_s"] = round(fetch(url + "run/0?word=great")[0], 3)
    res["page_200_s"] = round(fetch(url + "run/0?page=200")[0], 3)
    rng = random.Random(1)
    n = manifest["data"]["examples"]
    ex = [fetch(url + f"run/0/example/{rng.randrange(n)}")[0] for _ in range(20)]
    res["example_page_median_s"] = round(statistics.median(ex), 3)
    res["example_page_max_s"] = round(max(ex), 3)
    pages = min(300, n // 50)
    t = time.perf_counter()
    for p in range(1, pages + 1):
        fetch(url + f"run/0?page={p}")
    res["pages_browsed"] = pages
    res["page_mean_s"] = round((time.perf_counter() - t) / pages, 3)
    rss2 = rss_mb()
    for k in range(300):
        fetch(url + f"run/0/example/{(k * 83) % n}")
    res["rss_after_pages_mb"] = round(rss2)
    res["rss_after_examples_mb"] = round(rss_mb())
    server.stop()
    print(json.dumps(res, indent=1))


SENTENCES = [
    "the film is a charming and often affecting journey that never quite finds its footing but stays warm throughout",
    "an utterly predictable plot with wooden acting and dialogue so flat that even the best scenes feel entirely lifeless",
    "it is a smart , funny and surprisingly moving look at friendship that earns every one of its quiet emotional beats",
    "the director has made a long , dull and confused movie that wastes a talented cast on a script without any ideas",
    "a gorgeous , haunting piece of work whose images linger long after the story has faded from the mind of the viewer",
    "nothing in this tired comedy is funny , and the running time feels twice as long as it really is on the big screen",
    "the performances are strong enough to carry the film through its slower moments and its rather obvious final act",
    "as a thriller it fails on every level , from the clumsy pacing to the villain whose motives never make any sense",
    "this is the kind of family film that adults will enjoy as much as the children who drag them to the theater today",
    "the script is so busy explaining its clever premise that it forgets to give us characters worth caring about here",
    "one of the year 's best films , a bold and tender story told with wit , grace and a real sense of its own time",
]


def live(args) -> None:
    import torch

    from pathologies.app import Live
    from pathologies.app.server import Server, bind, create_app

    t = time.perf_counter()
    models = Live.load([args.model])
    load_s = time.perf_counter() - t
    server = Server(create_app([], models), bind("127.0.0.1", 0)).start()
    q = lambda s: server.url + "live?" + urlencode({"text": s, "methods": ["gradient", "loo"], "beam": 1}, doseq=True)  # noqa: E731
    sentences = [" ".join((s.split() + ["indeed"] * 20)[:20]) for s in SENTENCES[: args.sentences + 1]]  # 20 words each
    first = fetch(q(sentences[0]))[0]
    times, cpu = [], []
    for s in sentences[1:]:
        c = time.process_time()
        times.append(fetch(q(s))[0])
        cpu.append(time.process_time() - c)  # this process is the server: its CPU seconds per check
    cached = fetch(q(sentences[1]))[0]
    server.stop()
    print(json.dumps({
        "model": args.model, "family": models.models[0].family, "torch_threads": torch.get_num_threads(), "load_s": round(load_s, 2),
        "first_check_s": round(first, 3), "new_sentences": len(times), "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3), "min_s": round(min(times), 3), "cpu_median_s": round(statistics.median(cpu), 3),
        "cached_repeat_s": round(cached, 3),
    }, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("browse")
    b.add_argument("--examples", type=int, default=25000)
    b.add_argument("--words", type=int, default=230)
    b.add_argument("--reduce", action="store_true")
    b.add_argument("--out", default="/tmp/bench_app/run")
    lv = sub.add_parser("live")
    lv.add_argument("--model", required=True)
    lv.add_argument("--sentences", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; python {sys.version.split()[0]}", flush=True)
    browse(args) if args.what == "browse" else live(args)
    print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)


if __name__ == "__main__":
    main()
