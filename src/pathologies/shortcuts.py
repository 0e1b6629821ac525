"""Planted shortcuts as ground truth (Bastings et al. 2022, "Will you find these shortcuts?").

The protocol: copy the training data and plant a shortcut in a share of it (a token whose
class decides the label), train a **shortcut model** on the planted copy and a **control
model** on the original with the same settings, check on a test set where the shortcut
contradicts the original label that the shortcut model follows it (and the control does
not), then audit attribution methods on that test set. The planted tokens are the ground
truth: a faithful heatmap of the shortcut model ranks them first.

Three shortcut kinds, after Bastings et al. (section 3):

- ``token``: one token per class (``zeroa``, ``onea``, ...) inserted at a random position;
  the label becomes the token's class. Ground truth: that token (k = 1).
- ``token-in-context``: a class token together with a context token (``synt``) decides the
  label; as many other examples get one of the two alone with their label unchanged, so
  neither token decides anything by itself. Ground truth: both tokens (k = 2).
- ``ordered-pair``: two tokens (``firsta``, ``secondb``); their order decides the label
  (``firsta`` before ``secondb``: class 0, after: class 1). Ground truth: both (k = 2).

Positions are drawn uniformly among the slots of the planted sentence (seeded). The tokens
must not occur in the data (checked), so the planted positions are exactly the positions of
the shortcut tokens in a sentence, which is how the method table finds them in the records.

Scores: **precision@k** (share of the k shortcut tokens among the k top-scored words; ties
broken uniformly at random, in expectation) and **mean rank** (1 = top; tied words share
their average rank), by the signed score with the predicted class as target: a method that
gives the shortcut a large negative score for the class it decided has not found it. The
random baseline is the ``random`` method (audited beside the others) and the analytic
expectation, k / L for precision@k and (L + 1) / 2 for the mean rank.

``shortcut_test`` runs it all: the models are saved (and reused on a rerun) under
``RUN.models/``, the shortcut model's audit is the run folder ``RUN`` (cached and resumable
like every audit), the control model's is ``RUN/control``, and the table is
``RUN/shortcut.json`` (which ``pathologies report RUN`` shows first).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .ranks import average_ranks
from .text import Example, InputError

KINDS = ("token", "token-in-context", "ordered-pair")

#: The class tokens of ``token`` / ``token-in-context`` (one per class, in label order).
CLASS_TOKENS = ("zeroa", "onea", "twoa", "threea", "foura", "fivea", "sixa", "sevena", "eighta", "ninea")
CONTEXT_TOKEN = "synt"
PAIR_TOKENS = ("firsta", "secondb")

#: Methods audited by default (``random`` is always added: the baseline).
DEFAULT_METHODS = (
    "gradient", "gradient-abs", "gradient-l2", "loo", "loo-log-odds", "erasure-unk", "integrated-gradients", "smoothgrad",
)

#: The shortcut model follows the shortcut on at least this share of the contradicting test set.
LEARNED = 0.9

FILE = "shortcut.json"


@dataclass(frozen=True)
class Shortcut:
    """A shortcut: its kind and tokens. ``tokens``: for ``token``, one per class; for
    ``token-in-context``, one per class then the context token; for ``ordered-pair``, the
    first and the second token."""

    kind: str
    tokens: tuple[str, ...]
    n_labels: int

    @classmethod
    def make(cls, kind: str, n_labels: int, tokens: Sequence[str] | None = None) -> "Shortcut":
        if kind not in KINDS:
            raise InputError(f"unknown shortcut kind {kind!r}; known: {', '.join(KINDS)}")
        if n_labels < 2:
            raise InputError("a shortcut needs a data set with two or more classes")
        if tokens is None or not list(tokens):
            if kind == "ordered-pair":
                tokens = PAIR_TOKENS
            else:
                if n_labels > len(CLASS_TOKENS):
                    raise InputError(f"{n_labels} classes: give --tokens, one per class")
                tokens = CLASS_TOKENS[:n_labels] + ((CONTEXT_TOKEN,) if kind == "token-in-context" else ())
        tokens = tuple(str(t) for t in tokens)
        want = {"token": n_labels, "token-in-context": n_labels + 1, "ordered-pair": 2}[kind]
        if len(tokens) != want:
            what = {"token": "one per class", "token-in-context": "one per class, then the context token",
                    "ordered-pair": "the first and the second"}[kind]
            raise InputError(f"--kind {kind} takes {want} tokens ({what}), not {len(tokens)}: {' '.join(tokens)}")
        bad = [t for t in tokens if not t or len(t.split()) != 1]
        if bad:
            raise InputError(f"a shortcut token is one word without spaces, not {bad[0]!r}")
        low = [t.lower() for t in tokens]
        if len(set(low)) != len(low):
            raise InputError(f"the shortcut tokens must differ (in any case): {' '.join(tokens)}")
        return cls(kind, tokens, n_labels)

    @property
    def vocabulary(self) -> set[str]:
        return {t.lower() for t in self.tokens}

    @property
    def classes(self) -> list[int]:
        """The classes the shortcut can decide (ordered-pair: 0 and 1)."""
        return [0, 1] if self.kind == "ordered-pair" else list(range(self.n_labels))

    def parts(self, cls: int) -> list[str]:
        """The tokens planted for class ``cls``, in the order they are placed."""
        if self.kind == "token":
            return [self.tokens[cls]]
        if self.kind == "token-in-context":
            return [self.tokens[cls], self.tokens[-1]]
        first, second = self.tokens
        return [first, second] if cls == 0 else [second, first]

    def positions(self, words: Sequence[str]) -> list[int]:
        """Where the shortcut tokens are in ``words``."""
        voc = self.vocabulary
        return [i for i, w in enumerate(words) if w.lower() in voc]

    def decides(self, words: Sequence[str]) -> int | None:
        """The class the shortcut in ``words`` stands for (None: no complete shortcut)."""
        low = [w.lower() for w in words]
        if self.kind == "ordered-pair":
            a, b = (t.lower() for t in self.tokens)
            if a in low and b in low:
                return 0 if low.index(a) < low.index(b) else 1
            return None
        found = [c for c in range(self.n_labels) if self.tokens[c].lower() in low]
        if len(found) != 1:
            return None
        if self.kind == "token-in-context" and self.tokens[-1].lower() not in low:
            return None
        return found[0]


def insert(words: Sequence[str], tokens: Sequence[str], rng: random.Random) -> tuple[tuple[str, ...], list[int]]:
    """``tokens`` put into ``words`` at uniformly drawn distinct slots, in the given order;
    returns the new words and the tokens' positions."""
    n = len(words) + len(tokens)
    slots = sorted(rng.sample(range(n), len(tokens)))
    out: list[str] = []
    rest = iter(words)
    it = iter(tokens)
    for i in range(n):
        out.append(next(it) if i in slots else next(rest))
    return tuple(out), slots


def _plant(ex: Example, parts: Sequence[str], rng: random.Random, label: int | None, tag: str) -> Example:
    words, _ = insert(ex.words, parts, rng)
    tags = None
    if ex.tags is not None:  # a planted word has no sentiment tag: neutral (2) in SST's scale
        it = iter(ex.tags)
        tags = tuple(2 if w in parts else next(it) for w in words)
    return Example(words, label=label, fixed=ex.fixed, fixed_first=ex.fixed_first, tags=tags,
                   uid=f"{ex.uid}+{tag}" if ex.uid else None)


def check_absent(shortcut: Shortcut, examples: Sequence[Example], what: str) -> None:
    """The shortcut tokens must not occur in the data (their positions would be ambiguous)."""
    voc = shortcut.vocabulary
    for ex in examples:
        hit = [w for w in ex.words if w.lower() in voc]
        if hit:
            raise InputError(f"the shortcut token {hit[0]!r} occurs in the {what} (uid {ex.uid}); choose other --tokens")


def plant_train(
    examples: Sequence[Example], shortcut: Shortcut, share: float = 0.2, seed: int = 13
) -> tuple[list[Example], dict[str, Any]]:
    """The planted copy of the training data.

    Exactly ``round(share * n)`` examples (a seeded sample) get the shortcut of a uniformly
    drawn class and that class as their label. For ``token-in-context`` as many other
    examples (or all that are left) get one of the two tokens alone (class token of a random
    class, or the context token, half each) and keep their label. Returns the examples (in
    the original order) and what was planted: the indices, the classes, the distractors.
    """
    if not 0 < share <= 1:
        raise InputError(f"--share must be in (0, 1], not {share}")
    check_absent(shortcut, examples, "training data")
    rng = random.Random(f"plant-train:{seed}")
    n = len(examples)
    m = round(share * n)
    if m < len(shortcut.classes):
        raise InputError(f"--share {share} of {n} examples plants {m}: too few for {len(shortcut.classes)} classes")
    order = list(range(n))
    rng.shuffle(order)
    chosen = sorted(order[:m])
    out = list(examples)
    planted: dict[int, int] = {}
    for i in chosen:
        c = rng.choice(shortcut.classes)
        out[i] = _plant(examples[i], shortcut.parts(c), rng, c, f"shortcut{c}")
        planted[i] = c
    distractors: dict[int, str] = {}
    if shortcut.kind == "token-in-context":
        for i in sorted(order[m: 2 * m]):
            if rng.random() < 0.5:
                tok = shortcut.tokens[-1]
            else:
                tok = shortcut.tokens[rng.randrange(shortcut.n_labels)]
            out[i] = _plant(examples[i], [tok], rng, examples[i].label, "alone")
            distractors[i] = tok
    info = {"n": n, "planted": len(planted), "share": share, "indices": chosen,
            "classes": [planted[i] for i in chosen], "distractors": len(distractors)}
    return out, info


def contradicting_class(label: int | None, shortcut: Shortcut, rng: random.Random) -> int:
    """A class the shortcut will stand for that is not ``label``."""
    others = [c for c in shortcut.classes if c != label]
    return others[0] if len(others) == 1 else rng.choice(others)


def plant_test(examples: Sequence[Example], shortcut: Shortcut, seed: int = 13) -> list[Example]:
    """Every test example with the shortcut of a class other than its label; labels kept (the
    original ones), so accuracy is low when the model follows the shortcut."""
    check_absent(shortcut, examples, "test data")
    rng = random.Random(f"plant-test:{seed}")
    out = []
    for ex in examples:
        c = contradicting_class(ex.label, shortcut, rng)
        out.append(_plant(ex, shortcut.parts(c), rng, ex.label, f"contra{c}"))
    return out


# ---------------------------------------------------------------- scoring against the ground truth


def precision_at_k(scores: Sequence[float], positions: Sequence[int]) -> float:
    """Share of the k = len(positions) shortcut words among the k top-scored words.

    Ties at the k-th score are broken uniformly at random, in expectation: with ``a`` words
    above the k-th score, ``m`` words at it of which ``g`` are shortcut words, the expected
    count is (shortcut words above) + (k − a) · g / m.
    """
    k = len(positions)
    if k == 0:
        raise ValueError("no shortcut word")
    s_k = sorted(scores, reverse=True)[k - 1]
    gt = set(positions)
    above = [i for i, s in enumerate(scores) if s > s_k]
    at = [i for i, s in enumerate(scores) if s == s_k]
    hits = sum(i in gt for i in above) + (k - len(above)) * sum(i in gt for i in at) / len(at)
    return hits / k


def mean_rank(scores: Sequence[float], positions: Sequence[int]) -> float:
    """Mean rank of the shortcut words (1 = highest score; tied words share their average rank)."""
    if not positions:
        raise ValueError("no shortcut word")
    ranks = average_ranks([-s for s in scores])
    return sum(ranks[i] for i in positions) / len(positions)


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def score_records(records: Sequence[dict[str, Any]], shortcut: Shortcut) -> list[dict[str, Any]]:
    """Per attribution record: method, index, k, L, precision@k, mean rank, whether the
    prediction follows the shortcut, and whether it is correct (the original label)."""
    out = []
    for r in records:
        pos = shortcut.positions(r["words"])
        if not pos:
            continue
        probs = r["probs"]
        predicted = max(range(len(probs)), key=probs.__getitem__)
        decided = shortcut.decides(r["words"])
        out.append({
            "method": r["method"], "index": r.get("index"), "k": len(pos), "length": len(r["words"]),
            "precision": precision_at_k(r["scores"], pos), "rank": mean_rank(r["scores"], pos),
            "follows": decided is not None and predicted == decided,
            "correct": r.get("label") is not None and predicted == r["label"],
        })
    return out


def method_rows(scored: Sequence[dict[str, Any]], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per method: n, precision@k and mean rank over the sentences whose prediction follows
    the shortcut and over all; plus the analytic random expectation on the same sentences."""
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        rows = [s for s in scored if s["method"] == m]
        entry: dict[str, Any] = {}
        for subset, sel in (("follows", [s for s in rows if s["follows"]]), ("all", rows)):
            entry[subset] = {
                "n": len(sel),
                "precision_at_k": _mean([s["precision"] for s in sel]),
                "mean_rank": _mean([s["rank"] for s in sel]),
                "found": _mean([float(s["precision"] == 1.0) for s in sel]),
                "expected_precision": _mean([s["k"] / s["length"] for s in sel]),
                "expected_rank": _mean([(s["length"] + 1) / 2 for s in sel]),
            }
        out[m] = entry
    return out


def learning_check(records: Sequence[dict[str, Any]], shortcut: Shortcut) -> dict[str, Any]:
    """Accuracy (original labels) on the contradicting test set and the share of predictions
    that follow the shortcut, from one method's records (every method sees the same inputs)."""
    if not records:
        return {"n": 0, "accuracy": None, "follows": None}
    first = records[0]["method"]
    rows = [s for s in score_records([r for r in records if r["method"] == first], shortcut)]
    return {"n": len(rows), "accuracy": _mean([float(s["correct"]) for s in rows]),
            "follows": _mean([float(s["follows"]) for s in rows])}


def shortcut_table(shortcut_run, control_run, shortcut: Shortcut) -> dict[str, Any]:
    """The method table from the two runs' attribution records (``Run`` objects)."""
    out: dict[str, Any] = {}
    for name, run in (("shortcut", shortcut_run), ("control", control_run)):
        recs = run.records["attributions"]
        out[name] = {"check": learning_check(recs, shortcut),
                     "methods": method_rows(score_records(recs, shortcut), run.methods)}
    s, c = out["shortcut"]["check"], out["control"]["check"]
    out["learned"] = bool(s["follows"] is not None and s["follows"] >= LEARNED
                          and (c["follows"] is None or c["follows"] < s["follows"]))
    return out


# ---------------------------------------------------------------- tokens the model reads as one item


def check_tokens(model, shortcut: Shortcut, *, add: bool = True) -> list[str]:
    """Every shortcut token must be one vocabulary item of the model. A native model
    (TextCNN, BiLSTM) built here from the planted data has them in its vocabulary; one that
    lacks a token is refused. An HF tokenizer that splits a token gets it as an added token
    (``add``; the embedding matrix grows by one row each), else it is refused. Returns the
    tokens added."""
    if hasattr(model, "tokenizer"):
        tok = model.tokenizer
        split = []
        for t in shortcut.tokens:
            ids = tok([[t]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
            if len(ids) != 1 or ids[0] == tok.unk_token_id:
                split.append(t)
        if split and not add:
            raise InputError(f"the tokenizer splits the shortcut token(s) {', '.join(split)}: choose single-piece --tokens")
        if split:
            tok.add_tokens(split)
            model.module.resize_token_embeddings(len(tok))
            if hasattr(model, "mark_changed"):
                model.mark_changed()
        return split
    vocab = getattr(model, "index", None)
    if vocab is not None:
        missing = [t for t in shortcut.tokens if t.lower() not in vocab]
        if missing:
            raise InputError(f"the model's vocabulary lacks the shortcut token(s) {', '.join(missing)} "
                             "(train from textcnn / bilstm so the vocabulary comes from the planted data)")
    return []


def scale_token_vectors(model, shortcut: Shortcut, seed: int = 13) -> None:
    """Give a native model's shortcut tokens starting vectors at the scale of its other words.

    The made-up tokens have no GloVe vector, so TextCNN / BiLSTM start them at N(0, 0.1)
    while GloVe words have entries of about 0.4 (spread measured on the matrix itself): a
    short training would then barely see them. A vector drawn at the spread of the matrix's
    rows makes the shortcut as easy to read as a real word (Bastings et al.'s BERT and LSTM
    read their tokens through trained vectors); it changes nothing else.
    """
    import torch

    emb = getattr(getattr(model, "module", None), "embedding", None)
    vocab = getattr(model, "index", None)
    if emb is None or vocab is None:
        return
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        spread = float(emb.weight[2:].std())
        for t in shortcut.tokens:
            i = vocab[t.lower()]
            emb.weight[i] = torch.randn(emb.weight.shape[1], generator=gen).to(emb.weight) * spread
    if hasattr(model, "mark_changed"):
        model.mark_changed()


# ---------------------------------------------------------------- the whole protocol


@dataclass
class ShortcutSettings:
    """What the shortcut test was run with (recorded in ``shortcut.json``; a rerun must match)."""

    base: str
    data: str
    kind: str = "token"
    tokens: list[str] = field(default_factory=list)
    share: float = 0.2
    seed: int = 13
    epochs: int = 3
    batch_size: int = 32
    lr: float | None = None
    train_limit: int | None = None
    limit: int | None = None
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    metrics: list[str] = field(default_factory=list)
    trust: bool = False
    #: How the control reads the tokens ("unseen": as any word it never saw).
    control: str = "unseen"


def _splits(base: str, data: str, settings: ShortcutSettings, data_dir, encoding: str):
    """Training examples, test examples (the eval split, or a seeded 10% of a file) and labels."""
    from .training.loop import TrainConfig, _file_splits, _is_file
    from .data import DATASETS, load_dataset

    if _is_file(data):
        train, test, _, _ = _file_splits(base, data, None, TrainConfig(seed=settings.seed), encoding, None)
    else:
        name = data.split(":")[0]
        if name not in DATASETS:
            raise InputError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}, or a .jsonl/.csv/.tsv file")
        info = DATASETS[name]
        train = load_dataset(name, info.train_split, data_dir=data_dir, seed=settings.seed)
        test = load_dataset(name, info.eval_split, data_dir=data_dir, seed=settings.seed)
    tr = list(train.examples)
    if settings.train_limit:
        tr = tr[: settings.train_limit]
    te = list(test.examples)
    if settings.limit:
        te = te[: settings.limit]
    return tr, te, list(train.labels)


def _train(base: str, labels, train: list[Example], dev: list[Example], folder: Path, settings: ShortcutSettings,
           shortcut: Shortcut, device: str, log, show_progress: bool, *, planted: bool):
    """Train (or reload) one model into ``folder`` on ``train`` (planted or not); returns the
    model and its training facts."""
    from .models import load_classifier
    from .training import TrainConfig, create_model, fit

    done = folder / "train_metrics.json"
    if done.is_file():
        return load_classifier(str(folder), device=device), json.loads(done.read_text())
    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed)
    start = time.perf_counter()
    # The control is the same pipeline on the original data: it reads the tokens as any word
    # it never saw (TextCNN / BiLSTM: <unk>; an HF tokenizer: its pieces). Giving it the tokens
    # with drawn vectors instead made it react to them (two random vectors at the GloVe spread
    # moved a TextCNN control: precision@2 0.31-0.46 against chance 0.12, token-in-context).
    model = create_model(base, labels, train, seed=settings.seed, device=device)
    added = []
    if planted:
        added = check_tokens(model, shortcut)
        scale_token_vectors(model, shortcut, settings.seed)
    history = fit(model, train, dev, config, log=log, show_progress=show_progress)
    facts = {"history": history, "seconds": round(time.perf_counter() - start, 1), "n_train": len(train),
             "added_tokens": added, "config": asdict(config)}
    folder.mkdir(parents=True, exist_ok=True)
    model.save(str(folder))
    done.write_text(json.dumps(facts, indent=2))
    return model, facts


def shortcut_test(
    base: str,
    data: str,
    out: str | Path,
    *,
    kind: str = "token",
    tokens: Sequence[str] | None = None,
    share: float = 0.2,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] = (),
    limit: int | None = None,
    train_limit: int | None = None,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float | None = None,
    seed: int = 13,
    trust: bool = False,
    models_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    encoding: str = "utf-8",
    device: str = "cpu",
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the protocol; returns the table written to ``out/shortcut.json``.

    ``base``: textcnn, bilstm, minilm, an HF encoder or a model folder to fine-tune. ``data``:
    a named data set (trained on its train split, tested on its evaluation split) or a
    .jsonl/.csv/.tsv file (a seeded 10% held out as the test set). ``limit``: test sentences;
    ``train_limit``: training examples. Models go to ``models_dir`` (default ``OUT.models``)
    and are reused when there; the audits are resumable run folders (``OUT``: the shortcut
    model, ``OUT/control``: the control model).
    """
    from .attribution import check_method
    from .audit import AuditSpec, audit

    if kind not in KINDS:  # before any data is read
        raise InputError(f"unknown shortcut kind {kind!r}; known: {', '.join(KINDS)}")
    if not 0 < share <= 1:
        raise InputError(f"--share must be in (0, 1], not {share}")
    methods = list(methods) if methods else list(DEFAULT_METHODS)
    if "random" not in methods:
        methods.append("random")
    for m in methods:
        check_method(m, [])
    out = Path(out)
    models_dir = Path(models_dir) if models_dir is not None else Path(str(out) + ".models")
    settings = ShortcutSettings(base=base, data=str(data), kind=kind, tokens=list(tokens or []), share=share,
                                seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, train_limit=train_limit, limit=limit,
                                methods=methods, metrics=list(metrics), trust=trust)
    spec = AuditSpec(methods=methods, metrics=list(metrics), reduce=None, curves=False, show=0, seed=seed, trust=trust)
    spec.validate()
    recorded = models_dir / "settings.json"
    mine = {k: v for k, v in asdict(settings).items() if k not in ("methods", "metrics", "trust", "limit")}
    if recorded.is_file():
        old = json.loads(recorded.read_text())
        diff = [f"{k}: {old.get(k)!r} there, {v!r} now" for k, v in mine.items() if old.get(k) != v]
        if diff:
            raise InputError(f"{models_dir} holds models trained differently ({diff[0]}); use another --out or --models")
    train, test, labels = _splits(base, str(data), settings, data_dir, encoding)
    shortcut = Shortcut.make(kind, len(labels), tokens)
    planted, info = plant_train(train, shortcut, share, seed)
    test_planted = plant_test(test, shortcut, seed)
    models_dir.mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(mine, indent=2))
    with (models_dir / "planted_train.jsonl").open("w", encoding="utf-8") as fh:
        for ex in planted:
            fh.write(json.dumps({"text": " ".join(ex.words), "label": ex.label, "uid": ex.uid}) + "\n")
    started = time.perf_counter()
    log(f"shortcut model: {base} on {data} with {info['planted']} of {info['n']} examples planted ({kind}: {' '.join(shortcut.tokens)})")
    sc_model, sc_facts = _train(base, labels, planted, test, models_dir / "shortcut", settings, shortcut, device, log,
                                show_progress, planted=True)
    log(f"control model: {base} on {data} (unplanted)")
    ct_model, ct_facts = _train(base, labels, train, test, models_dir / "control", settings, shortcut, device, log,
                                show_progress, planted=False)
    check_tokens(sc_model, shortcut, add=False)
    trained = time.perf_counter() - started
    data_spec = f"{data} (test, {kind} shortcut contradicting the label, seed {seed})"
    sc_run = audit(sc_model, test_planted, out, spec=AuditSpec(**{**spec.to_dict()}), model_source=str(models_dir / "shortcut"),
                   data_spec=data_spec, show_progress=show_progress)
    ct_run = audit(ct_model, test_planted, out / "control", spec=AuditSpec(**{**spec.to_dict()}),
                   model_source=str(models_dir / "control"), data_spec=data_spec, show_progress=show_progress)
    table = shortcut_table(sc_run, ct_run, shortcut)
    table.update({
        "protocol": "Bastings et al. 2022, Will you find these shortcuts?",
        "settings": asdict(settings),
        "definition": {"kind": kind, "tokens": list(shortcut.tokens), "classes": shortcut.classes},
        "planted": {k: v for k, v in info.items() if k not in ("indices", "classes")},
        "labels": labels,
        "clean_accuracy": {"shortcut": sc_facts["history"][-1]["eval_accuracy"] if sc_facts["history"] else None,
                           "control": ct_facts["history"][-1]["eval_accuracy"] if ct_facts["history"] else None},
        "train_seconds": {"shortcut": sc_facts["seconds"], "control": ct_facts["seconds"]},
        "seconds": {"train_and_load": round(trained, 1), "total": round(time.perf_counter() - started, 1)},
        "models": {"shortcut": str(models_dir / "shortcut"), "control": str(models_dir / "control")},
        "added_tokens": sc_facts.get("added_tokens", []),
    })
    (out / FILE).write_text(json.dumps(table, indent=2))
    return table
