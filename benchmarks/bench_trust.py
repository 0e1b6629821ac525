"""Does the trust score mean anything? AUROC studies on a labelled data set.

1. Misclassified vs correct predictions: AUROC of the trust score (higher = correct) next to
   plain confidence's AUROC, and of each signal's component on its own.
2. Heatmaps with low vs high comprehensiveness (split at the median comprehensiveness of the
   primary heatmap): AUROC of the trust score *without* its faithfulness component (that
   component is computed from comprehensiveness itself, so keeping it would be circular), next
   to confidence's.

Cards are appended to a JSONL file as they are computed (``--cards``); a rerun resumes and
``--analyse-only`` recomputes the figures from the file (``--rescore``: after judging the
stored cards again under the card's current setting). 95% intervals: 1,000 bootstrap
resamples of the examples (seeded).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 PATHOLOGIES_DATA=/work/shared/data nice -n 10 \
      .venv/bin/python -u benchmarks/bench_trust.py --model models/textcnn-sst2 --data sst2:dev \
      --cards runs/trust-textcnn.jsonl --out benchmarks/results/trust-textcnn.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path


def auroc(scores: list[float], positives: list[bool]) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting one half."""
    pos = [s for s, y in zip(scores, positives) if y]
    neg = [s for s, y in zip(scores, positives) if not y]
    if not pos or not neg:
        return None
    # Mann-Whitney U through average ranks.
    from pathologies.ranks import average_ranks

    ranks = average_ranks(scores)
    r_pos = sum(r for r, y in zip(ranks, positives) if y)
    return (r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def with_interval(scores: list[float], positives: list[bool], n_boot: int = 1000, seed: int = 0) -> dict:
    point = auroc(scores, positives)
    rng = random.Random(seed)
    n = len(scores)
    boots = []
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        a = auroc([scores[i] for i in idx], [positives[i] for i in idx])
        if a is not None:
            boots.append(a)
    boots.sort()
    lo = boots[int(0.025 * len(boots))] if boots else None
    hi = boots[int(0.975 * len(boots)) - 1] if boots else None
    return {"auroc": point, "ci95": [lo, hi]}


def paired_difference(a: list[float], b: list[float], positives: list[bool], n_boot: int = 1000, seed: int = 1) -> dict:
    """AUROC(a) - AUROC(b) with a paired bootstrap interval."""
    rng = random.Random(seed)
    n = len(a)
    diffs = []
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        ys = [positives[i] for i in idx]
        x, y = auroc([a[i] for i in idx], ys), auroc([b[i] for i in idx], ys)
        if x is not None and y is not None:
            diffs.append(x - y)
    diffs.sort()
    point = auroc(a, positives) - auroc(b, positives)
    return {"difference": point, "ci95": [diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs)) - 1]]}


def score_without(card: dict, drop: set[str]) -> float:
    """The card's score (its weighted mean, ``trust.score_of``) without the components in ``drop``."""
    from pathologies.trust import score_of

    return score_of({s["name"]: s["component"] for s in card["signals"] if s["component"] is not None and s["name"] not in drop})


def rescored(card: dict) -> dict:
    """The stored card judged again under the card's current setting: the agreement and
    faithfulness statuses from their stored values (``trust.agreement_status``,
    ``trust.faithfulness_status``), the score from the stored components (``trust.score_of``);
    the other signals keep their status. For cards computed before a refit."""
    from pathologies.trust import agreement_status, faithfulness_status, verdict_for

    statuses = []
    for s in card["signals"]:
        if s["name"] == "agreement" and s["value"] is not None:
            statuses.append(agreement_status(s["value"]))
        elif s["name"] == "faithfulness":
            statuses.append(faithfulness_status(s["details"]["comprehensiveness"], s["details"]["sufficiency"]))
        else:
            statuses.append(s["status"])
    return {**card, "score": score_without(card, set()), "verdict": verdict_for(statuses)}


def component(card: dict, name: str, default: float = 0.5) -> float:
    for s in card["signals"]:
        if s["name"] == name and s["component"] is not None:
            return s["component"]
    return default


def analyse(cards: list[dict]) -> dict:
    from pathologies.trust import TrustCard

    cards = [c for c in cards if c.get("label") is not None]
    correct = [c["label"] == c["predicted"] for c in cards]
    conf = [c["confidence"] for c in cards]
    score = [c["score"] for c in cards]
    names = sorted({s["name"] for c in cards for s in c["signals"] if s["component"] is not None})
    out: dict = {
        "examples": len(cards),
        "accuracy": sum(correct) / len(cards),
        "errors": len(cards) - sum(correct),
        "misclassified_vs_correct": {
            "confidence": with_interval(conf, correct),
            "trust_score": with_interval(score, correct),
            "trust_score_minus_confidence": paired_difference(score, conf, correct),
            "trust_times_confidence": with_interval([s * c for s, c in zip(score, conf)], correct),
            # not fitted: the two signals about the prediction itself (the card's dknn component is credibility)
            "confidence_times_credibility": with_interval([c * component(card, "dknn", 1.0) for c, card in zip(conf, cards)], correct)
            if "dknn" in names else None,
            "components": {n: with_interval([component(c, n) for c in cards], correct) for n in names},
        },
    }
    verdicts: dict = {}
    for c, ok in zip(cards, correct):
        v = verdicts.setdefault(c["verdict"], {"n": 0, "errors": 0})
        v["n"] += 1
        v["errors"] += not ok
    for v in verdicts.values():
        v["error_rate"] = v["errors"] / v["n"]
    out["verdicts"] = verdicts
    statuses: dict = {}
    for c in cards:
        for s in c["signals"]:
            statuses.setdefault(s["name"], {}).setdefault(s["status"], 0)
            statuses[s["name"]][s["status"]] += 1
    out["signal_statuses"] = statuses

    comp = [TrustCard.from_dict(c).signal("faithfulness") for c in cards]
    have = [i for i, s in enumerate(comp) if s is not None]
    if have:
        values = [comp[i].details["comprehensiveness"] for i in have]
        median = statistics.median(values)
        high = [v > median for v in values]
        sub = [cards[i] for i in have]
        no_faith = [score_without(c, {"faithfulness"}) for c in sub]
        out["high_vs_low_comprehensiveness"] = {
            "method": comp[have[0]].details["method"],
            "median_comprehensiveness": median,
            "high": sum(high),
            "low": len(high) - sum(high),
            "confidence": with_interval([conf[i] for i in have], high),
            "trust_score_without_faithfulness": with_interval(no_faith, high),
            "difference": paired_difference(no_faith, [conf[i] for i in have], high),
            "components": {
                n: with_interval([component(c, n) for c in sub], high) for n in names if n != "faithfulness"
            },
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="sst2:dev")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=None, help="The first N of a seeded shuffle (seed 13) instead of the data set's order.")
    ap.add_argument("--methods", default="gradient,loo,integrated-gradients")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--index", default=None, help="DkNN index folder (adds credibility and conformity).")
    ap.add_argument("--mlm", default=None, help="Masked LM folder (adds marginalization-adaptive).")
    ap.add_argument("--cards", required=True, help="JSONL file of cards (appended, resumable).")
    ap.add_argument("--out", required=True, help="Results JSON.")
    ap.add_argument("--analyse-only", action="store_true")
    ap.add_argument("--rescore", action="store_true", help="Judge the stored cards again under the card's current setting first.")
    args = ap.parse_args()

    cards_path = Path(args.cards)
    done: list[dict] = []
    if cards_path.exists():
        done = [json.loads(line) for line in cards_path.read_text().splitlines() if line.strip()]
    seconds = 0.0
    if not args.analyse_only:
        from pathologies.data import load_dataset, parse_spec
        from pathologies.models import load_classifier
        from pathologies.audit import check

        name, split, _ = parse_spec(args.data)
        examples = load_dataset(name, split).examples
        if args.sample:
            # A seeded shuffle, then the first N: a larger N extends a smaller one (resumable).
            examples = list(examples)
            random.Random(13).shuffle(examples)
            examples = examples[: args.sample]
        if args.limit:
            examples = examples[: args.limit]
        model = load_classifier(args.model)
        index = None
        if args.index:
            from pathologies.dknn import DkNN

            index = DkNN.load(args.index)
        mlm = None
        if args.mlm:
            from pathologies.models.mlm import load_mlm

            mlm = load_mlm(args.mlm)
        todo = examples[len(done):]
        cards_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        with cards_path.open("a") as f:
            for start in range(0, len(todo), args.chunk):
                part = todo[start : start + args.chunk]
                for c in check(model, part, methods=args.methods.split(","), beam=args.beam or None, index=index, mlm=mlm):
                    d = c.to_dict()
                    f.write(json.dumps(d) + "\n")
                    done.append(d)
                f.flush()
                print(f"{len(done)}/{len(examples)} cards, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        seconds = time.time() - t0
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "model": args.model,
        "data": args.data,
        "limit": args.limit,
        "sample": args.sample,
        "methods": args.methods.split(","),
        "beam": args.beam,
        "index": args.index,
        "mlm": args.mlm,
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs (shared), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
        "seconds_this_run": round(seconds, 1),
        "rescored": args.rescore,
        **analyse([rescored(c) for c in done] if args.rescore else done),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    m = result["misclassified_vs_correct"]
    print(f"{result['examples']} examples, accuracy {result['accuracy']:.3f}")
    print(f"misclassified vs correct: confidence {m['confidence']['auroc']:.3f}  trust {m['trust_score']['auroc']:.3f}")
    if "high_vs_low_comprehensiveness" in result:
        h = result["high_vs_low_comprehensiveness"]
        print(f"high vs low comprehensiveness: confidence {h['confidence']['auroc']:.3f}  trust (no faithfulness) {h['trust_score_without_faithfulness']['auroc']:.3f}")


if __name__ == "__main__":
    main()
