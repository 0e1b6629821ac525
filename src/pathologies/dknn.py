"""Deep k-nearest neighbours (Papernot & McDaniel 2018), as used by Wallace et al. (2018).

Every layer's representation of every training example goes into a faiss index. A new
input's k nearest training neighbours in each layer vote for classes: the nonconformity of
class j is the number of neighbours, over all layers, whose label is not j. Calibration on
held-out labelled data turns nonconformity into empirical p-values; the DkNN prediction is
the class with the largest p-value, its credibility that p-value. Conformity (Wallace et
al.) is the share of all neighbours whose label is a given class, by default the class the
model predicts.

Layers: ``layers=None`` takes every layer of ``model.representations()`` plus the sentence
vector as a layer named ``"sentence"`` unless it equals one of those layers (BiLSTM: the
final states are ``lstm_final`` already). For Hugging Face models that adds the [CLS] state
of the last layer next to the mean-pooled layers; for TextCNN the concatenated max-pools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .engine import ScoringEngine
from .models import Representations, TorchClassifier
from .progress import progress_bar
from .text import Example, InputError


METRICS = ("cosine", "l2")
SENTENCE = "sentence"
CONFIG_FILE = "dknn.json"
LABELS_FILE = "train_labels.npy"
CALIBRATION_FILE = "calibration.npy"
FORMAT_VERSION = 1


def _faiss():
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise InputError("DkNN needs the package faiss-cpu (pip install faiss-cpu)") from err
    return faiss


@dataclass
class DkNNOutput:
    """What the DkNN says about a batch of inputs (arrays have one row per input).

    ``counts[i, j]``: neighbours of input i, over all layers, labelled j (they sum to
    ``n_neighbours``). ``p_values`` is None when the index is not calibrated.
    """

    counts: np.ndarray  # [N, C] int
    n_neighbours: int  # k * number of layers
    model_probs: np.ndarray  # [N, C]
    neighbour_labels: dict[str, np.ndarray]  # layer -> [N, k] labels, nearest first
    p_values: np.ndarray | None = None  # [N, C]

    @property
    def prediction(self) -> np.ndarray:
        """The DkNN class: the largest p-value, i.e. the most neighbours (ties: lowest index)."""
        return self.counts.argmax(1)

    @property
    def model_prediction(self) -> np.ndarray:
        return self.model_probs.argmax(1)

    def conformity_of(self, classes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Share of all neighbours (all layers) labelled ``classes[i]``, per input."""
        classes = np.asarray(classes, dtype=np.int64)
        return self.counts[np.arange(len(classes)), classes] / self.n_neighbours

    @property
    def conformity(self) -> np.ndarray:
        """Conformity with the model's predicted class (Wallace et al.)."""
        return self.conformity_of(self.model_prediction)

    @property
    def dknn_conformity(self) -> np.ndarray:
        """Conformity with the DkNN's own predicted class."""
        return self.conformity_of(self.prediction)

    def p_value_of(self, classes: Sequence[int] | np.ndarray) -> np.ndarray:
        if self.p_values is None:
            raise InputError("the DkNN index is not calibrated: call calibrate() with held-out labelled data")
        classes = np.asarray(classes, dtype=np.int64)
        return self.p_values[np.arange(len(classes)), classes]

    @property
    def credibility(self) -> np.ndarray:
        """The p-value of the DkNN prediction (Papernot & McDaniel)."""
        return self.p_value_of(self.prediction)

    @property
    def confidence(self) -> np.ndarray:
        """1 minus the second largest p-value."""
        p = self.p_value_of(self.prediction)[:, None] if self.p_values is None else self.p_values
        if p.shape[1] < 2:
            return np.ones(len(p))
        return 1 - np.sort(p, axis=1)[:, -2]

    def records(self) -> list[dict[str, Any]]:
        """One JSON-serializable dict per input."""
        out = []
        pred, model_pred = self.prediction, self.model_prediction
        conf, dconf = self.conformity, self.dknn_conformity
        cred = self.credibility if self.p_values is not None else None
        for i in range(len(self.counts)):
            out.append(
                {
                    "prediction": int(pred[i]),
                    "model_prediction": int(model_pred[i]),
                    "credibility": None if cred is None else float(cred[i]),
                    "conformity": float(conf[i]),
                    "dknn_conformity": float(dconf[i]),
                    "counts": self.counts[i].tolist(),
                    "p_values": None if self.p_values is None else self.p_values[i].tolist(),
                    "neighbour_labels": {k: v[i].tolist() for k, v in self.neighbour_labels.items()},
                }
            )
        return out


class DkNN:
    """Deep k-nearest neighbours over a classifier's layers (exact faiss search).

    ``metric``: ``"cosine"`` (inner product of L2-normalized vectors) or ``"l2"``.
    ``layers``: names from ``model.representations()`` (and ``"sentence"``); None = all.
    Fitted state ends in ``_``.
    """

    def __init__(self, k: int = 75, metric: str = "cosine", layers: Sequence[str] | None = None):
        if metric not in METRICS:
            raise InputError(f"DkNN metric must be one of {', '.join(METRICS)}, not {metric!r}")
        if int(k) < 1:
            raise InputError(f"k must be at least 1, not {k}")
        self.k = int(k)
        self.metric = metric
        self.layers = list(layers) if layers is not None else None

    # --- fitting ------------------------------------------------------------------------
    def fit(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        engine: "ScoringEngine | None" = None,
        *,
        show_progress: bool = False,
    ) -> "DkNN":
        """Index every chosen layer's representation of the labelled training ``examples``."""
        labels = _labels(model, examples, "training")
        if self.k > len(examples):
            raise InputError(f"k = {self.k} is larger than the training set ({len(examples)} examples)")
        reps = _engine(model, engine, show_progress).representations(examples)
        names = self._choose_layers(reps)
        faiss = _faiss()
        self.indexes_: dict[str, Any] = {}
        self.dims_: dict[str, int] = {}
        with progress_bar("indexing layers", len(names), show_progress) as advance:
            for name in names:
                x = self._vectors(_layer(reps, name))
                index = faiss.IndexFlatIP(x.shape[1]) if self.metric == "cosine" else faiss.IndexFlatL2(x.shape[1])
                index.add(x)
                self.indexes_[name] = index
                self.dims_[name] = int(x.shape[1])
                advance(1)
        self.layers_ = names
        self.train_labels_ = labels
        self.n_labels_ = model.n_labels
        self.label_names_ = list(model.labels)
        self.calibration_: np.ndarray | None = None
        return self

    def calibrate(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        engine: "ScoringEngine | None" = None,
        *,
        show_progress: bool = False,
    ) -> "DkNN":
        """Nonconformity of held-out labelled ``examples`` with their true labels: the set A."""
        self.check_model(model)
        labels = _labels(model, examples, "calibration")
        counts, _ = self._neighbour_counts(_engine(model, engine, show_progress).representations(examples))
        alpha = self.n_neighbours - counts[np.arange(len(labels)), labels]
        self.calibration_ = np.sort(alpha.astype(np.int64))
        return self

    # --- answering ----------------------------------------------------------------------
    @property
    def n_neighbours(self) -> int:
        self._check_fitted()
        return self.k * len(self.layers_)

    def predict(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        engine: "ScoringEngine | None" = None,
        *,
        show_progress: bool = False,
    ) -> DkNNOutput:
        """DkNN prediction, credibility (if calibrated), conformity and neighbours of ``examples``."""
        self.check_model(model)
        engine = _engine(model, engine, show_progress)
        reps = engine.representations(examples)
        probs = engine.probabilities(examples)  # served from the cache the line above filled
        return self.from_representations(reps, probs)

    def from_representations(self, reps: Representations, model_probs: torch.Tensor | np.ndarray) -> DkNNOutput:
        """The DkNN output for precomputed representations (one batched search per layer)."""
        self._check_fitted()
        counts, neighbours = self._neighbour_counts(reps)
        return DkNNOutput(
            counts=counts,
            n_neighbours=self.n_neighbours,
            model_probs=np.asarray(model_probs, dtype=np.float64),
            neighbour_labels=neighbours,
            p_values=self.p_values(counts) if self.calibration_ is not None else None,
        )

    def p_values(self, counts: np.ndarray) -> np.ndarray:
        """p_j(x) = |{a in A : a >= alpha(x, j)}| / |A|, with alpha(x, j) = n_neighbours - counts[j]."""
        if getattr(self, "calibration_", None) is None or len(self.calibration_) == 0:
            raise InputError("the DkNN index is not calibrated: call calibrate() with held-out labelled data")
        alpha = self.n_neighbours - counts
        below = np.searchsorted(self.calibration_, alpha.ravel(), side="left").reshape(alpha.shape)
        return (len(self.calibration_) - below) / len(self.calibration_)

    def _neighbour_counts(self, reps: Representations) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        self._check_layers(reps)
        n = _n_rows(reps)
        counts = np.zeros((n, self.n_labels_), dtype=np.int64)
        neighbours: dict[str, np.ndarray] = {}
        if n == 0:
            return counts, {name: np.zeros((0, self.k), dtype=np.int64) for name in self.layers_}
        rows = np.repeat(np.arange(n), self.k)
        for name in self.layers_:
            _, ids = self.indexes_[name].search(self._vectors(_layer(reps, name)), self.k)
            labels = self.train_labels_[ids]
            neighbours[name] = labels
            np.add.at(counts, (rows, labels.ravel()), 1)
        return counts, neighbours

    # --- layers and checks --------------------------------------------------------------
    def _choose_layers(self, reps: Representations) -> list[str]:
        available = list(reps.layers)
        if SENTENCE not in reps.layers and not any(
            v.shape == reps.sentence.shape and torch.equal(v, reps.sentence) for v in reps.layers.values()
        ):
            available.append(SENTENCE)
        if self.layers is None:
            return available
        missing = [name for name in self.layers if name not in available and name != SENTENCE]
        if missing or not self.layers:
            raise InputError(
                f"unknown layer(s) {', '.join(missing) or '(none given)'}; this model has: {', '.join(available)}"
            )
        return list(dict.fromkeys(self.layers))

    def check_model(self, model: TorchClassifier) -> None:
        """A clear error before any work if the index is unfitted or fitted for other labels.

        Layer names and sizes are checked on every search.
        """
        self._check_fitted()
        if model.n_labels != self.n_labels_:
            raise InputError(
                f"the DkNN index was fitted on a model with {self.n_labels_} labels; this one has {model.n_labels}"
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "indexes_"):
            raise InputError("the DkNN index is not fitted: call fit(model, training_examples) first")

    def _check_layers(self, reps: Representations) -> None:
        have = {name: int(v.shape[1]) for name, v in reps.layers.items()}
        have.setdefault(SENTENCE, int(reps.sentence.shape[1]) if reps.sentence.dim() == 2 else -1)
        wrong = [n for n in self.layers_ if have.get(n) != self.dims_[n]]
        if wrong and _n_rows(reps) > 0:
            fitted = ", ".join(f"{n} ({self.dims_[n]})" for n in self.layers_)
            given = ", ".join(f"{n} ({d})" for n, d in have.items())
            raise InputError(
                f"the DkNN index was fitted on a model with other layers: index layers (dims) {fitted}; "
                f"this model has {given}"
            )

    def _vectors(self, x: torch.Tensor) -> np.ndarray:
        x = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        if self.metric == "cosine":
            x = x.copy()  # normalize_L2 works in place
            _faiss().normalize_L2(x)
        return x

    # --- saving -------------------------------------------------------------------------
    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the index folder: faiss indexes, labels, calibration scores, JSON config.

        ``meta`` (JSON-serializable, e.g. the model and data used) is stored with the config.
        """
        self._check_fitted()
        faiss = _faiss()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files = {}
        for i, name in enumerate(self.layers_):
            files[name] = f"layer_{i}.faiss"
            faiss.write_index(self.indexes_[name], str(path / files[name]))
        np.save(path / LABELS_FILE, self.train_labels_)
        if self.calibration_ is not None:
            np.save(path / CALIBRATION_FILE, self.calibration_)
        elif (path / CALIBRATION_FILE).exists():
            (path / CALIBRATION_FILE).unlink()
        config = {
            "format": FORMAT_VERSION,
            "k": self.k,
            "metric": self.metric,
            "layers": self.layers,
            "fitted_layers": self.layers_,
            "dims": self.dims_,
            "files": files,
            "n_labels": self.n_labels_,
            "label_names": self.label_names_,
            "n_train": int(len(self.train_labels_)),
            "n_calibration": None if self.calibration_ is None else int(len(self.calibration_)),
            "meta": meta if meta is not None else getattr(self, "meta_", {}),
        }
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        self.path_ = str(path)
        self.meta_ = config["meta"]
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DkNN":
        """Read an index folder written by :meth:`save`; it answers exactly as the saved one.

        A damaged folder (a config that is not JSON or lacks an entry, a missing or truncated
        index, labels or calibration file) is a one-line InputError naming the file."""
        path = Path(path)
        if not (path / CONFIG_FILE).is_file():
            raise InputError(f"{path} is not a DkNN index folder (no {CONFIG_FILE}); build one with `pathologies dknn fit`")
        again = "build the index again with `pathologies dknn fit`"
        config_path = path / CONFIG_FILE
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{config_path}: not valid JSON ({type(err).__name__}); the file is damaged: {again}") from None
        if not isinstance(config, dict):
            raise InputError(f"{config_path}: expected a JSON object (the index's settings); the file is damaged: {again}")
        if config.get("format") != FORMAT_VERSION:
            raise InputError(f"{path}: DkNN index format {config.get('format')!r} is not supported")
        faiss = _faiss()
        current = config_path
        try:
            dknn = cls(k=config["k"], metric=config["metric"], layers=config["layers"])
            dknn.layers_ = list(config["fitted_layers"])
            dknn.dims_ = {k: int(v) for k, v in config["dims"].items()}
            dknn.indexes_ = {}
            for name in dknn.layers_:
                current = path / config["files"][name]
                dknn.indexes_[name] = faiss.read_index(str(current))
            current = path / LABELS_FILE
            dknn.train_labels_ = np.load(current, allow_pickle=False)
            current = config_path
            dknn.n_labels_ = int(config["n_labels"])
            dknn.label_names_ = list(config["label_names"])
            current = path / CALIBRATION_FILE
            dknn.calibration_ = np.load(current, allow_pickle=False) if current.is_file() else None
        except InputError:
            raise
        except KeyError as err:
            raise InputError(f"{current}: no entry {err.args[0]!r}; the file is damaged: {again}") from None
        except FileNotFoundError:
            raise InputError(f"{current}: missing (part of the DkNN index); {again}") from None
        except Exception as err:  # noqa: BLE001 - faiss, numpy: a damaged file is one line naming it
            message = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            if not current.exists():
                raise InputError(f"{current}: missing (part of the DkNN index); {again}") from None
            kind = {".faiss": "not a readable faiss index", ".npy": "not a readable NumPy array"}.get(current.suffix, "cannot be read")
            if current.suffix not in (".faiss", ".npy"):
                kind += f" ({type(err).__name__}: {message[:120]})"
            raise InputError(f"{current}: {kind}; the file is damaged or truncated: {again}") from None
        if len(dknn.train_labels_) != int(config.get("n_train", len(dknn.train_labels_))) or any(
            dknn.indexes_[n].ntotal != len(dknn.train_labels_) for n in dknn.layers_
        ):
            raise InputError(f"{path}: the index files and {LABELS_FILE} do not hold the same examples; {again}")
        dknn.path_ = str(path)
        dknn.meta_ = config.get("meta") or {}
        return dknn

    def __repr__(self) -> str:
        state = ""
        if hasattr(self, "indexes_"):
            cal = "uncalibrated" if self.calibration_ is None else f"{len(self.calibration_)} calibration scores"
            state = f"; {len(self.train_labels_)} training examples, layers {', '.join(self.layers_)}, {cal}"
        return f"DkNN(k={self.k}, metric={self.metric!r}, layers={self.layers!r}{state})"


def _labels(model: TorchClassifier, examples: Sequence[Example], what: str) -> np.ndarray:
    if not examples:
        raise InputError(f"no {what} examples")
    missing = sum(ex.label is None for ex in examples)
    if missing:
        raise InputError(f"{missing} of the {len(examples)} {what} examples have no label")
    labels = np.array([int(ex.label) for ex in examples], dtype=np.int64)
    model.check_targets(np.unique(labels).tolist())
    return labels


def _layer(reps: Representations, name: str) -> torch.Tensor:
    return reps.sentence if name == SENTENCE and SENTENCE not in reps.layers else reps.layers[name]


def _n_rows(reps: Representations) -> int:
    return int(reps.sentence.shape[0])


def _engine(model: TorchClassifier, engine: "ScoringEngine | None", show_progress: bool) -> "ScoringEngine":
    if engine is not None:
        if engine.model is not model:
            raise InputError("the scoring engine belongs to another model")
        return engine
    return ScoringEngine(model, show_progress=show_progress)
