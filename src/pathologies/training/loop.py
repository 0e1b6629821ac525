"""Training and fine-tuning of every classifier family with one loop.

The loop goes through the same ``encode`` -> ``embed`` -> ``forward_embeddings`` path that
inference and attribution use, so what is trained is exactly what is explained.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..models.pretrained import minilm_path  # noqa: F401  (re-exported)
from ..models import NATIVE, HFClassifier, TorchClassifier
from ..models.inputs import record_inputs
from ..models.native import CONFIG_FILE, build_vocab
from ..text import Example, InputError
from ..progress import progress_bar

#: Learning rates that work for each family on the data sets here.
DEFAULT_LR = {"hf": 5e-5, "textcnn": 1e-3, "bilstm": 1e-3}

ENCODER_ALIASES = {"minilm", "all-minilm-l6-v2"}


@dataclass
class TrainConfig:
    """Settings of one training run (defaults suit SST-2-sized data on a CPU)."""

    epochs: int = 3
    batch_size: int = 32
    lr: float | None = None
    weight_decay: float = 0.01
    warmup: float = 0.1
    seed: int = 13
    max_words: int | None = 256
    limit: int | None = None
    eval_batch_size: int = 128


@dataclass
class TrainResult:
    """What a run measured: dev accuracy after every epoch, time, and where it was saved."""

    dataset: str
    train_split: str
    eval_split: str
    model: str
    family: str
    n_train: int
    n_eval: int
    eval_accuracy: float
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    config: dict = field(default_factory=dict)
    out_dir: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def create_model(
    base: str, labels: Sequence[str], train: Sequence[Example], *, seed: int = 13, device: str = "cpu"
) -> TorchClassifier:
    """A model ready to train: ``textcnn`` / ``bilstm`` (GloVe 50d), ``minilm``, or an HF encoder."""
    if base in NATIVE:
        vocab = build_vocab(
            [ex.words for ex in train] + [ex.fixed for ex in train if ex.fixed is not None]
        )
        return NATIVE[base].create(labels, vocab, seed=seed, device=device)
    if (Path(base) / CONFIG_FILE).is_file():  # a model trained here: fine-tune it further
        from ..models import load_classifier

        model = load_classifier(base, device=device)
        if model.labels != list(labels):
            raise InputError(f"{base} has labels {model.labels}, the data set {list(labels)}")
        return model
    torch.manual_seed(seed)
    path = minilm_path() if base.lower() in ENCODER_ALIASES else base
    return HFClassifier.load(path, labels=labels, device=device)


def accuracy(model: TorchClassifier, data: Sequence[Example], batch_size: int = 128) -> float:
    """Share of examples whose predicted class is the gold label."""
    if not data:
        raise InputError("no examples to evaluate")
    correct = 0
    for batch in length_batches(data, batch_size, shuffle=False):
        probs = model.predict_proba(batch)
        gold = torch.tensor([ex.label for ex in batch])
        correct += int((probs.argmax(1) == gold).sum())
    return correct / len(data)


def length_batches(
    data: Sequence[Example], batch_size: int, *, shuffle: bool, rng: random.Random | None = None
) -> list[list[Example]]:
    """Batches of similar length (less padding); order shuffled when training."""
    order = list(range(len(data)))
    if shuffle:
        (rng or random).shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(data[i].words))
        batches += [[data[i] for i in part[j : j + batch_size]] for j in range(0, len(part), batch_size)]
    if shuffle:
        (rng or random).shuffle(batches)
    return batches


def check_labels(model: TorchClassifier, data: Sequence[Example], what: str) -> None:
    for ex in data:
        if ex.label is None or not 0 <= ex.label < model.n_labels:
            raise InputError(
                f"{what}: example {ex.uid or ex.text()[:40]!r} has label {ex.label}, "
                f"which the model does not have (labels: {', '.join(model.labels)})"
            )


#: An extra loss term: (model, batch, logits) -> scalar added to the cross-entropy, or None.
ExtraLoss = Callable[[TorchClassifier, list[Example], Tensor], "Tensor | None"]


def fit(
    model: TorchClassifier,
    train: Sequence[Example],
    dev: Sequence[Example],
    config: TrainConfig,
    *,
    extra_loss: ExtraLoss | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> list[dict]:
    """Train with cross-entropy (plus ``extra_loss``); returns dev accuracy after each epoch."""
    check_labels(model, train, "training data")
    check_labels(model, dev, "evaluation data")
    record_inputs(model, train)  # single sentences or pairs: saved with the model, checked on every input
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    if config.max_words:
        train = [_clip(ex, config.max_words) for ex in train]
    lr = config.lr or DEFAULT_LR.get(model.family, DEFAULT_LR["hf"])
    optimizer = torch.optim.AdamW(
        [p for p in model.module.parameters() if p.requires_grad], lr=lr, weight_decay=config.weight_decay
    )
    steps = config.epochs * math.ceil(len(train) / config.batch_size)
    warm = int(config.warmup * steps) if model.family == "hf" else 0
    linear = model.family == "hf"  # warm-up and linear decay for pretrained encoders
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, warm, steps) if linear else 1.0
    )
    history = []
    for epoch in range(1, config.epochs + 1):
        model.module.train()
        batches = length_batches(train, config.batch_size, shuffle=True, rng=rng)
        total = 0.0
        with progress_bar(f"epoch {epoch}/{config.epochs}", len(batches), show_progress) as advance:
            for batch in batches:
                enc = model.encode(batch)
                logits = model.forward_embeddings(model.embed_with_zeros(enc), enc)
                gold = torch.tensor([ex.label for ex in batch], device=logits.device)
                loss = torch.nn.functional.cross_entropy(logits, gold)
                extra = extra_loss(model, batch, logits) if extra_loss is not None else None
                if extra is not None:
                    loss = loss + extra
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.module.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                total += float(loss.detach())
                advance(1)
        model.module.eval()
        model.mark_changed()
        acc = accuracy(model, dev, config.eval_batch_size)
        history.append({"epoch": epoch, "loss": total / max(1, len(batches)), "eval_accuracy": acc})
        log(f"epoch {epoch}: train loss {history[-1]['loss']:.4f}, eval accuracy {acc:.4f}")
    return history


def _lr_factor(step: int, warm: int, steps: int) -> float:
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (steps - step) / max(1, steps - warm))


#: Share of a user's file held out for evaluation when no evaluation file is given.
HOLDOUT = 0.10


def _is_file(spec: str) -> bool:
    from ..data.files import SUFFIXES

    return str(spec).lower().endswith(SUFFIXES) or Path(str(spec)).is_file()


def _file_splits(base: str, path: str, eval_path: str | None, config: TrainConfig, encoding: str, train_split: str | None):
    """Training and evaluation sets from a user's file (and an optional evaluation file)."""
    from ..data import Dataset, load_file, match_labels
    from ..data.splits import holdout

    if train_split is not None:
        raise InputError("--train-split is for named data sets; a file is trained on whole (or give --eval-split FILE)")
    data = load_file(path, encoding=encoding)
    labels = data.labels
    if not all(n.isdigit() for n in labels):  # names in any case sort together: negative, Positive
        labels = sorted(labels, key=lambda n: (n.casefold(), n))
        data = match_labels(data, labels)
    if (Path(base) / CONFIG_FILE).is_file():  # a model trained here: its labels, the file's matched by name
        from ..models import load_classifier

        labels = load_classifier(base).labels
        data = match_labels(data, labels)
    if eval_path is not None:
        if not _is_file(eval_path):
            raise InputError(f"--eval-split {eval_path!r}: with --data FILE, give an evaluation file (.jsonl/.csv/.tsv)")
        dev = match_labels(load_file(eval_path, encoding=encoding), labels, whose="the training file's")
        train_examples, eval_name = list(data.examples), str(eval_path)
    else:
        if len(data.examples) < 2:
            raise InputError(f"{path}: {len(data.examples)} example; training needs at least 2 (one is held out to evaluate)")
        train_examples, held = holdout(data.examples, HOLDOUT, config.seed)
        if not held:
            train_examples, held = train_examples[:-1], train_examples[-1:]
        dev = Dataset(data.name, "file", held, list(labels))
        eval_name = f"{Path(path).name} (seeded {HOLDOUT:.0%} held out)"
    if config.limit is not None:
        train_examples = train_examples[: config.limit]
    used = {ex.label for ex in train_examples}
    if len(used) < 2:
        raise InputError(f"{path}: the training examples have one label only ({labels[used.pop()]}); a classifier needs two or more")
    train = Dataset(data.name, "file", train_examples, list(labels))
    return train, dev, Path(path).name, eval_name


def _clip(ex: Example, max_words: int) -> Example:
    return ex if len(ex.words) <= max_words else ex.with_words(ex.words[:max_words])


def train_model(
    base: str,
    dataset: str,
    *,
    out_dir: str | Path | None = None,
    config: TrainConfig | None = None,
    data_dir: str | Path | None = None,
    train_split: str | None = None,
    eval_split: str | None = None,
    device: str = "cpu",
    objective: str = "ce",
    log: Callable[[str], None] = print,
    show_progress: bool = True,
    encoding: str = "utf-8",
    **objective_settings: Any,
) -> tuple[TorchClassifier, TrainResult]:
    """Train ``base`` (textcnn, bilstm, minilm, an HF encoder / classifier, or a model trained
    here) on a data set with an objective: ``ce``, ``entropy`` / ``random-entropy`` (λ:
    ``lam``, reduced examples by beam search ``beam``), or ``pct`` (``alpha``, ``tau``,
    ``share``). Saves the model and ``train_metrics.json`` to ``out_dir`` when given.

    ``dataset`` may be a user's .jsonl/.csv/.tsv file (``text`` or ``premise`` + ``hypothesis``,
    ``label`` by name or index, as ``--data`` reads them): the model's labels are the file's
    label names (sorted; integers in order), or a model trained here keeps its own and the
    file's are matched onto them by name. It is evaluated on ``eval_split`` when that names a
    file too, else on a seeded 10% of the file held out from training (``train_split``
    "file-90%" / eval "file-10%" in the result).
    """
    from ..data import DATASETS, load_dataset

    config = config or TrainConfig()
    if _is_file(dataset):
        train, dev, train_split, eval_split = _file_splits(base, dataset, eval_split, config, encoding, train_split)
    else:
        if dataset not in DATASETS:
            raise InputError(
                f"unknown data set {dataset!r}; known: {', '.join(sorted(DATASETS))}, or a .jsonl/.csv/.tsv file of your own"
            )
        info = DATASETS[dataset]
        train_split = train_split or info.train_split
        eval_split = eval_split or info.eval_split
        train = load_dataset(dataset, train_split, data_dir=data_dir, seed=config.seed, limit=config.limit)
        dev = load_dataset(dataset, eval_split, data_dir=data_dir, seed=config.seed)
    start = time.perf_counter()
    model = create_model(base, train.labels, train.examples, seed=config.seed, device=device)
    record_inputs(model, train.examples)  # before the objective reduces anything with it
    log(f"training {base} ({model.family}) on {dataset}:{train_split} ({len(train)} examples), "
        f"evaluating on {dataset}:{eval_split} ({len(dev)})")
    extra = objective_loss(
        objective, model, train.examples, config, out_dir=out_dir, show_progress=show_progress, **objective_settings
    )
    history = fit(model, train.examples, dev.examples, config, extra_loss=extra, log=log, show_progress=show_progress)
    result = TrainResult(
        dataset=dataset,
        train_split=train_split,
        eval_split=eval_split,
        model=base,
        family=model.family,
        n_train=len(train),
        n_eval=len(dev),
        eval_accuracy=history[-1]["eval_accuracy"],
        history=history,
        seconds=round(time.perf_counter() - start, 1),
        config={**asdict(config), "objective": objective,
                **{k: str(v) if isinstance(v, Path) else v for k, v in objective_settings.items()}},
        out_dir=str(out_dir) if out_dir else None,
    )
    if out_dir is not None:
        model.save(str(out_dir))
        (Path(out_dir) / "train_metrics.json").write_text(result.to_json())
    return model, result


OBJECTIVES = ("ce", "entropy", "random-entropy", "pct")


def objective_loss(
    objective: str,
    model: TorchClassifier,
    train: Sequence[Example],
    config: TrainConfig,
    *,
    out_dir: str | Path | None = None,
    lam: float = 1e-3,
    beam: int = 5,
    alpha: float | None = None,
    tau: float | None = None,
    share: float = 0.10,
    reduce_limit: int | None = None,
    reductions: str | Path | None = None,
    show_progress: bool = True,
) -> ExtraLoss | None:
    """The extra loss of an objective (None for plain cross-entropy).

    Entropy objectives: ``reduce_limit`` reduces only a seeded random sample of that many
    training examples (input reduction is the expensive part); ``reductions`` names the
    JSON-lines file of reductions to write or reuse (default ``<out_dir>/reduced_train.jsonl``;
    ``entropy`` and ``random-entropy`` runs can share one).
    """
    from .objectives import PCT_DEFAULTS, EntropyRegularizer, PCTLoss, reduced_training_examples

    if objective not in OBJECTIVES:
        raise InputError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    if objective == "ce":
        return None
    if objective == "pct":
        a, t = PCT_DEFAULTS.get(model.family, PCT_DEFAULTS["hf"])
        return PCTLoss(alpha if alpha is not None else a, tau if tau is not None else t, share)
    cache = str(reductions) if reductions is not None else None
    if cache is None and out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        cache = str(Path(out_dir) / "reduced_train.jsonl")
    to_reduce = list(train)
    if reduce_limit is not None and reduce_limit < len(to_reduce):
        to_reduce = random.Random(config.seed).sample(to_reduce, reduce_limit)
    reduced = reduced_training_examples(
        model, to_reduce, cache=cache, beam=beam, random_removal=objective == "random-entropy",
        seed=config.seed, show_progress=show_progress,
    )
    return EntropyRegularizer(reduced, lam=lam, batch_size=config.batch_size, seed=config.seed)
