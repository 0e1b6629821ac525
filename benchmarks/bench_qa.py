"""Question reduction on a small QA model trained here (issue 25; Feng et al. 2018, §4–5).

No SQuAD or QA model can be downloaded on these machines, so the model is
all-MiniLM-L6-v2 with a new QA head, fine-tuned on SQuAD-format cloze questions written from
SNLI premises (:func:`pathologies.data.squad.cloze_squad`: a context is four premises, a
question is one premise with its last word replaced by "what"). Then the held-out questions are
reduced (greedy by gradient, greedy by LOO, beam 3 by LOO) into QA run folders, and, with
``--lam``, the model is fine-tuned with the entropy term on reduced training questions and
reduced again.

    PATHOLOGIES_DATA=../shared/data python benchmarks/bench_qa.py --out runs/bench-qa [--lam 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from pathologies.data.squad import cloze_squad, parse_squad
from pathologies.models.pretrained import minilm_path
from pathologies.models.qa import QAModel, load_qa_model
from pathologies.audit.qa import run_qa
from pathologies.qa.training import QATrainConfig, entropy_finetune, evaluate_qa, finetune_qa

ROWS = [("greedy-gradient", 1, "gradient"), ("greedy-loo", 1, "loo"), ("beam3-loo", 3, "loo")]
KEYS = ("mean_original_length", "mean_reduced_length", "share_reduced_to_1", "share_reduced_to_2_or_less",
        "mean_confidence_original", "mean_confidence_reduced", "random_mean_confidence", "random_share_span_kept",
        "mean_model_calls", "exact_match")


def reduce_all(model, dev, out: Path, source: str, rows=ROWS) -> dict:
    table = {}
    for name, beam, importance in rows:
        t = time.time()
        run_qa(model, dev, out / name, kind="reduce", method=importance, beam=beam, k=5, model_source=source)
        summary = json.loads((out / name / "summary.json").read_text())
        table[name] = {k: round(summary["reduction"][k], 3) for k in KEYS} | {"seconds": round(time.time() - t, 1)}
        print(name, json.dumps(table[name]), flush=True)
    return table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/bench-qa")
    ap.add_argument("--train-contexts", type=int, default=100)
    ap.add_argument("--dev-contexts", type=int, default=25)
    ap.add_argument("--dev-limit", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lam", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(os.environ.get("PATHOLOGIES_DATA", "../shared/data")) / "snli" / "s1.dev"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_doc = cloze_squad(data, args.train_contexts)
    dev_doc = cloze_squad(data, args.dev_contexts, skip=4 * args.train_contexts)
    (out / "train.json").write_text(json.dumps(train_doc))
    (out / "dev.json").write_text(json.dumps(dev_doc))
    train, dev = parse_squad(train_doc), parse_squad(dev_doc)
    dev_items = dev.items[: args.dev_limit]
    model_dir = out / "model"
    t0 = time.time()
    if (model_dir / "config.json").is_file():
        model = load_qa_model(model_dir)
    else:
        torch.manual_seed(0)
        model = QAModel.load(minilm_path())
        print("untrained", evaluate_qa(model, dev), flush=True)
        finetune_qa(model, train, config=QATrainConfig(epochs=args.epochs, batch_size=16, lr=2e-4), dev=dev)
        model.save(model_dir)
        print(f"trained in {time.time() - t0:.0f} s", flush=True)
    results = {"questions": {"train": len(train), "dev": len(dev_items)}, "dev": evaluate_qa(model, dev_items)}
    results["reduction"] = reduce_all(model, dev_items, out / "runs", str(model_dir))
    if args.lam:
        report = entropy_finetune(model, train, lam=args.lam, importance="gradient",
                                  config=QATrainConfig(epochs=1, batch_size=16, lr=5e-5))
        model.save(out / "model-entropy")
        results["entropy"] = {k: v for k, v in report.items() if k != "history"} | {"dev": evaluate_qa(model, dev_items)}
        results["reduction_after_entropy"] = reduce_all(model, dev_items, out / "runs-entropy", str(out / "model-entropy"))
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
