"""Baseline: TextAttack's stock ``InputReductionFeng2018`` recipe on our SST-2 classifier.

Run with the SEPARATE TextAttack environment, not the project's .venv
(set up as in benchmarks/TEXTATTACK.md):

    /work/ta-venv/bin/python benchmarks/textattack_feng.py [--n 50] \
        [--model models/minilm-sst2] [--out benchmarks/results/textattack_feng.json] [--threads N]

Data: the first N SST-2 dev sentences read from the SST PTB trees at
$PATHOLOGIES_DATA/sst/dev.txt (default /work/shared/data), in file order: root label 0-1 ->
negative (0), 3-4 -> positive (1), 2 dropped. Text = the tree's leaves joined by one space,
with -LRB-/-RRB-/\\/ /\\* unescaped. The project package is deliberately not imported.

Each sentence is attacked with ``attack.attack(text, label)`` where label is the model's own
prediction (the recipe needs a ground truth; Attacker.attack_dataset runs this same call in
its loop, plus logging we don't want inside the timing). Everything runs offline: TextAttack
needs NLTK's English stopword list at import time, which is written into
``<venv>/nltk_data`` from the copy embedded below if NLTK cannot find it.

Lengths: ``*_words`` are whitespace tokens (``text.split()``), counted the same way for the
original and the reduced text, so punctuation tokens (which TextAttack never deletes) count on
both sides. ``*_ta_words`` are TextAttack's own word count (``AttackedText.words``: punctuation
dropped, "'s" -> "s"), which is what the recipe reduces. Reduced text of a result = the
perturbed text of the result: for Maximized (the only type this maximizable recipe produces
when it runs), Successful and Failed results the search's final text; for a Skipped result the
original text (nothing was searched, so reduced length = original length).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time

# Offline: nothing may be fetched from the HF hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# NLTK's English stopword list as `nltk.download("stopwords")` delivers it since nltk_data
# commit 47111d8 (Feb 2025, nltk_data PR #228): the classic 179 words plus 19 pronoun
# contractions ("i'm", "he's", "they're", ...) = 198. Used only if NLTK has no stopwords.
NLTK_ENGLISH_STOPWORDS = (
    "a about above after again against ain all am an and any are aren aren't as at be because "
    "been before being below between both but by can couldn couldn't d did didn didn't do does "
    "doesn doesn't doing don don't down during each few for from further had hadn hadn't has "
    "hasn hasn't have haven haven't having he he'd he'll he's her here hers herself him himself "
    "his how i i'd i'll i'm i've if in into is isn isn't it it'd it'll it's its itself just ll m "
    "ma me mightn mightn't more most mustn mustn't my myself needn needn't no nor not now o of "
    "off on once only or other our ours ourselves out over own re s same shan shan't she she'd "
    "she'll she's should should've shouldn shouldn't so some such t than that that'll the their "
    "theirs them themselves then there these they they'd they'll they're they've this those "
    "through to too under until up ve very was wasn wasn't we we'd we'll we're we've were weren "
    "weren't what when where which while who whom why will with won won't wouldn wouldn't y you "
    "you'd you'll you're you've your yours yourself yourselves"
).split()
assert len(NLTK_ENGLISH_STOPWORDS) == 198

PTB_UNESCAPE = {"-LRB-": "(", "-RRB-": ")", "\\/": "/", "\\*": "*"}
LEAF = re.compile(r"\(\d+ ([^()\s]+)\)")


def read_sst2(path: str, n: int) -> list[tuple[str, int]]:
    """First n SST-2 sentences of an SST PTB tree file, in file order: (text, gold label)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            root = int(line[1 : line.index(" ")])
            if root == 2:
                continue
            words = []
            for w in LEAF.findall(line):
                for esc, plain in PTB_UNESCAPE.items():
                    w = w.replace(esc, plain)
                words.append(w)
            out.append((" ".join(words), 0 if root < 2 else 1))
            if len(out) >= n:
                break
    return out


def ensure_nltk_stopwords() -> dict:
    """TextAttack builds StopwordModification() when imported; make sure NLTK can load the list."""
    import nltk

    try:
        words = nltk.corpus.stopwords.words("english")
        where = nltk.data.find("corpora/stopwords")
        created = False
    except LookupError:
        root = os.path.join(sys.prefix, "nltk_data", "corpora", "stopwords")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "english"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(NLTK_ENGLISH_STOPWORDS) + "\n")
        words = nltk.corpus.stopwords.words("english")
        where, created = root, True
    return {
        "path": str(where),
        "count": len(set(words)),
        "created_now": created,
        "same_as_embedded_198": set(words) == set(NLTK_ENGLISH_STOPWORDS),
    }


def mean(xs):
    return round(sum(xs) / len(xs), 3) if xs else None


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="first N SST-2 dev sentences (default 50)")
    parser.add_argument("--model", default=os.path.join(here, "..", "models", "minilm-sst2"))
    parser.add_argument("--out", default=os.path.join(here, "results", "textattack_feng.json"))
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch/tokenizer threads (default 0 = library defaults, as the project's benchmarks)",
    )
    args = parser.parse_args()

    if args.threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_RS_NUM_CPUS"):
            os.environ[var] = str(args.threads)

    data_root = os.environ.get("PATHOLOGIES_DATA", "/work/shared/data")
    examples = read_sst2(os.path.join(data_root, "sst", "dev.txt"), args.n)

    t_setup = time.perf_counter()
    stopwords = ensure_nltk_stopwords()
    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)

    # The first `import textattack` in a fresh TA cache (~/.cache/textattack or $TA_CACHE_DIR)
    # tries nltk.download() of six packages; offline each fails with an "[nltk_data] Error
    # loading ..." line, which is harmless: this recipe only needs the stopwords.
    import textattack
    from textattack.attack_recipes import InputReductionFeng2018
    from textattack.models.wrappers import HuggingFaceModelWrapper

    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.model)
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    model.eval()
    # Stock wrapper, unchanged. NOTE: it pads EVERY input to the tokenizer's model_max_length
    # (padding="max_length"; 512 for this tokenizer), so each model row costs a full
    # 512-token forward pass however short the sentence; this dominates TextAttack's time.
    wrapper = HuggingFaceModelWrapper(model, tokenizer)
    attack = InputReductionFeng2018.build(wrapper)
    setup_seconds = time.perf_counter() - t_setup

    # Ground truth for the recipe = the model's own prediction, through the same wrapper.
    t0 = time.perf_counter()
    preds = []
    for text, _ in examples:
        preds.append(int(torch.as_tensor(wrapper([text])).argmax(dim=1)[0]))
    label_seconds = time.perf_counter() - t0

    per_sentence = []
    counts: dict[str, int] = {}
    t_total = time.perf_counter()
    for (text, gold), pred in zip(examples, preds):
        t0 = time.perf_counter()
        result = attack.attack(text, pred)
        seconds = time.perf_counter() - t0
        rtype = type(result).__name__.replace("AttackResult", "").lower()
        counts[rtype] = counts.get(rtype, 0) + 1
        orig_at = result.original_result.attacked_text
        red_at = result.perturbed_result.attacked_text  # Skipped: == original
        reduced = red_at.text
        probs = result.perturbed_result.raw_output
        per_sentence.append(
            {
                "original": text,
                "reduced": reduced,
                "seconds": round(seconds, 3),
                "result": rtype,
                "gold": gold,
                "label": pred,
                "reduced_label": int(result.perturbed_result.output),
                "reduced_confidence": round(float(probs[pred]), 4),
                "original_confidence": round(float(result.original_result.raw_output[pred]), 4),
                "original_words": len(text.split()),
                "reduced_words": len(reduced.split()),
                "original_ta_words": orig_at.num_words,
                "reduced_ta_words": red_at.num_words,
                "model_queries": int(result.perturbed_result.num_queries),
            }
        )
        print(
            f"[{len(per_sentence)}/{len(examples)}] {seconds:.2f}s {rtype} "
            f"{len(text.split())} -> {len(reduced.split())} words: {reduced}",
            flush=True,
        )
    total_seconds = time.perf_counter() - t_total

    n = len(per_sentence)
    out = {
        "recipe": "textattack.attack_recipes.InputReductionFeng2018 (stock)",
        "n": n,
        "total_seconds": round(total_seconds, 3),
        "seconds_per_sentence": round(total_seconds / n, 3) if n else None,
        "mean_original_words": mean([p["original_words"] for p in per_sentence]),
        "mean_reduced_words": mean([p["reduced_words"] for p in per_sentence]),
        "mean_original_ta_words": mean([p["original_ta_words"] for p in per_sentence]),
        "mean_reduced_ta_words": mean([p["reduced_ta_words"] for p in per_sentence]),
        "share_reduced_ta_words_le_2": mean([p["reduced_ta_words"] <= 2 for p in per_sentence]),
        "mean_model_queries": mean([p["model_queries"] for p in per_sentence]),
        "result_counts": counts,
        "counting": (
            "*_words = len(text.split()) on original and reduced text alike (punctuation tokens "
            "count; TextAttack never deletes them); *_ta_words = AttackedText.num_words. "
            "reduced = result.perturbed_result text: the search's final text for "
            "maximized/successful/failed results, the original text for skipped ones."
        ),
        "label": "model's own prediction via the wrapper (label_seconds, not in total_seconds)",
        "setup_seconds": round(setup_seconds, 3),
        "label_seconds": round(label_seconds, 3),
        "model": os.path.abspath(args.model),
        "data": os.path.join(data_root, "sst", "dev.txt"),
        "wrapper_padding": f"padding='max_length', max_length={tokenizer.model_max_length}",
        "nltk_stopwords": stopwords,
        "versions": {
            "textattack": getattr(textattack, "__version__", None) or _dist_version("textattack"),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "nltk": _dist_version("nltk"),
            "python": platform.python_version(),
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {torch.get_num_threads()} torch threads",
        "attack": str(attack),
        "per_sentence": per_sentence,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    print(
        f"n={n} total={total_seconds:.2f}s per_sentence={out['seconds_per_sentence']}s "
        f"words {out['mean_original_words']} -> {out['mean_reduced_words']} "
        f"(textattack words {out['mean_original_ta_words']} -> {out['mean_reduced_ta_words']}) "
        f"{counts} -> {args.out}"
    )


def _dist_version(name: str):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
