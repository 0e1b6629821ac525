"""The scoring engine: where the toolkit's speed lives.

Methods hand the engine every input variant they need (each word deleted, each word
replaced, each beam state), across many examples at once. The engine drops duplicates,
reuses cached scores, sorts what is left by length, fills batches under a token budget so
that padding stays small, runs them under inference mode, and returns one row of class
probabilities per variant in the order asked. Running out of memory halves the batch.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, Sequence

import torch
from torch import Tensor

from .models import TorchClassifier
from .models import Representations
from .progress import progress_bar
from .text import Example


@dataclass
class EngineStats:
    """What the engine did: rows asked for, served from cache, computed, tokens and padding."""

    requested: int = 0
    unique: int = 0
    cache_hits: int = 0
    computed: int = 0
    batches: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    oom_retries: int = 0

    @property
    def padding_waste(self) -> float:
        """Share of computed token positions that were padding."""
        return 1 - self.real_tokens / self.padded_tokens if self.padded_tokens else 0.0


class ScoreCache:
    """A bounded LRU map from (model state, input) to class probabilities."""

    def __init__(self, max_entries: int = 500_000):
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Tensor] = OrderedDict()

    def get(self, key: Hashable) -> Tensor | None:
        row = self._data.get(key)
        if row is not None:
            self._data.move_to_end(key)
        return row

    def put(self, key: Hashable, row: Tensor) -> None:
        self._data[key] = row
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def model_state(model: TorchClassifier) -> tuple:
    """A token that changes whenever the model's weights may have changed.

    PyTorch bumps a tensor's ``_version`` on every in-place change (optimizer steps,
    ``load_state_dict``), so cached scores are never served for other weights, even when
    the caller forgets ``mark_changed``.
    """
    params = tuple(model.module.parameters())
    return (model.version, sum(p._version for p in params), tuple(p.data_ptr() for p in params[:4]))


#: Batch budgets (padded tokens, sequences) by device kind. Measured on this project's 2-core
#: CPU (benchmarks/BUDGET.md), leave-one-out over 100 SST-2 sentences with MiniLM was faster
#: with 8,192 / 256 than with 2,048 / 64 (19.9 vs 29.8 CPU-s), so the CPU keeps the larger
#: budget; the choice is fixed per device (never timed at run time) so that records do not
#: depend on a measurement. Other GPUs take the CUDA budget.
BUDGETS = {"cpu": (8192, 256), "cuda": (8192, 256)}


def default_budget(device: str) -> tuple[int, int]:
    """(batch_tokens, max_batch) for a device (``cpu``, ``cuda``, ``cuda:N``, ...)."""
    kind = device.split(":", 1)[0]
    return BUDGETS.get(kind, BUDGETS["cuda"])


class ScoringEngine:
    """Batched, cached class probabilities for many input variants of many examples.

    ``batch_tokens`` bounds the padded tokens of one batch (the batch holds as many sequences
    as fit), ``max_batch`` the sequences in one batch; None takes :func:`default_budget` for
    the model's device. Both shrink by half on out-of-memory.
    """

    def __init__(
        self,
        model: TorchClassifier,
        *,
        batch_tokens: int | None = None,
        max_batch: int | None = None,
        cache_size: int = 500_000,
        show_progress: bool = False,
    ):
        self.model = model
        tokens, rows = default_budget(str(getattr(model, "device", "cpu")))
        self.batch_tokens = tokens if batch_tokens is None else batch_tokens
        self.max_batch = rows if max_batch is None else max_batch
        self.cache = ScoreCache(cache_size)
        self.show_progress = show_progress
        self.stats = EngineStats()
        self.model_calls = 0

    def probabilities(self, variants: Sequence[Example]) -> Tensor:
        """Class probabilities [N, C] for ``variants``, in order."""
        state = model_state(self.model)
        keys = [(state, v.key()) for v in variants]
        self.stats.requested += len(variants)
        rows: dict[Hashable, Tensor] = {}
        todo: dict[Hashable, Example] = {}
        for key, v in zip(keys, variants):
            if key in rows or key in todo:
                continue
            hit = self.cache.get(key)
            if hit is not None:
                rows[key] = hit
                self.stats.cache_hits += 1
            else:
                todo[key] = v
        self.stats.unique += len(rows) + len(todo)
        if todo:
            for key, row in zip(todo, self._compute(list(todo.values()))):
                rows[key] = row
                self.cache.put(key, row)
        if not variants:
            return torch.empty(0, self.model.n_labels)
        return torch.stack([rows[k] for k in keys])

    def _compute(self, variants: list[Example]) -> list[Tensor]:
        lengths = [self.model.n_tokens(v) for v in variants]
        out: list[Tensor | None] = [None] * len(variants)
        for batch, probs in self._batches(lengths, lambda b: self.model.predict_proba([variants[i] for i in b]), "scoring"):
            self.model_calls += 1
            self.stats.computed += len(batch)
            for i, row in zip(batch, probs):
                out[i] = row
        return out  # type: ignore[return-value]

    def _batches(self, lengths: Sequence[int], run, label: str):
        """Yield (batch indices, ``run(batch)``) over length-sorted batches under the token
        budget; on out-of-memory the batch is halved and retried (the budgets shrink too)."""
        pending = token_batches(lengths, self.batch_tokens, self.max_batch)
        with progress_bar(label, len(lengths), self.show_progress) as advance:
            while pending:
                batch = pending.pop(0)
                try:
                    result = run(batch)
                except (torch.cuda.OutOfMemoryError, MemoryError, RuntimeError) as err:
                    if not _is_oom(err) or len(batch) == 1:
                        raise
                    self.stats.oom_retries += 1
                    self.batch_tokens = max(1, self.batch_tokens // 2)
                    self.max_batch = max(1, len(batch) // 2)
                    half = len(batch) // 2
                    pending[:0] = [batch[:half], batch[half:]]
                    continue
                self.stats.batches += 1
                self.stats.real_tokens += sum(lengths[i] for i in batch)
                self.stats.padded_tokens += max(lengths[i] for i in batch) * len(batch)
                yield batch, result
                advance(len(batch))

    def representations(self, variants: Sequence[Example]) -> Representations:
        """Per-layer representations (rows [N, H]) of ``variants``, in order.

        Identical inputs are computed once, in length-sorted batches under the token budget,
        under inference mode. Representations are not cached (they are large), but the class
        probabilities of the same forward passes go into the score cache, so a following
        :meth:`probabilities` call on the same inputs runs no model.
        """
        state = model_state(self.model)
        slots: dict[Hashable, int] = {}
        unique: list[Example] = []
        rows = []
        for v in variants:
            slot = slots.setdefault(v.key(), len(unique))
            if slot == len(unique):
                unique.append(v)
            rows.append(slot)
        if not unique:
            return Representations(layers={}, sentence=torch.empty(0, 0))
        model = self.model
        lengths = [model.n_tokens(v) for v in unique]
        layers: dict[str, Tensor] = {}
        sentence: Tensor | None = None

        def forward(batch):
            enc = model.encode([unique[i] for i in batch])
            with torch.inference_mode():
                return model.hidden(model.embed_with_zeros(enc), enc)

        for batch, (logits, reps) in self._batches(lengths, forward, "representations"):
            if sentence is None:  # sizes are known after the first batch
                layers = {k: torch.empty(len(unique), v.shape[1]) for k, v in reps.layers.items()}
                sentence = torch.empty(len(unique), reps.sentence.shape[1])
            index = torch.tensor(batch)
            for k, v in reps.layers.items():
                layers[k][index] = v.float().cpu()
            sentence[index] = reps.sentence.float().cpu()
            probs = torch.softmax(logits.float(), dim=-1).cpu()
            for i, row in zip(batch, probs):
                self.cache.put((state, unique[i].key()), row)
        if len(unique) == len(rows):  # no duplicates: rows are already in input order
            return Representations(layers=layers, sentence=sentence)
        order = torch.tensor(rows)
        return Representations(layers={k: v[order] for k, v in layers.items()}, sentence=sentence[order])


#: Allocations from this size up are mapped and unmapped by glibc (0: leave malloc alone).
HEAP_MMAP_THRESHOLD = 128 * 1024
#: Inputs of this many tokens or more make activations large enough for the heap to
#: fragment: the first batch holding one bounds the heap (short texts keep malloc's speed).
LONG_INPUT_TOKENS = 256
_heap_bounded = False


def bound_heap() -> None:
    """Keep the resident set flat over a long run (once per process; glibc only). Called by
    :func:`token_batches` when an input of ``LONG_INPUT_TOKENS`` or more is batched.

    Batches of varying shapes leave glibc's heap fragmented: freed activations stay resident
    and the peak grows with the number of batches (measured, gradient on IMDB test reviews,
    MiniLM, 1 thread: peak RSS 1.78 / 1.96 / 2.66 GB after 40 / 160 / 640 reviews). Serving
    blocks of 128 KiB and more by mmap returns them to the system when freed: 1.59 / 1.56 /
    1.61 GB (benchmarks/RAY.md), for about 20% more time on gradient-only CPU runs (page
    faults). Skipped when ``MALLOC_MMAP_THRESHOLD_`` is set, or with
    ``PATHOLOGIES_MMAP_THRESHOLD=0``.
    """
    global _heap_bounded
    if _heap_bounded:
        return
    _heap_bounded = True
    import os
    import sys

    threshold = int(os.environ.get("PATHOLOGIES_MMAP_THRESHOLD", HEAP_MMAP_THRESHOLD))
    if threshold <= 0 or "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, threshold)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def token_batches(lengths: Sequence[int], batch_tokens: int, max_batch: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches whose padded size stays under the budgets."""
    if lengths and max(lengths) >= LONG_INPUT_TOKENS:
        bound_heap()  # long inputs: large, variously shaped activations would fragment the heap
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        longest_if = max(longest, lengths[i])
        if current and (longest_if * (len(current) + 1) > batch_tokens or len(current) >= max_batch):
            batches.append(current)
            current, longest_if = [], lengths[i]
        current.append(i)
        longest = longest_if
    if current:
        batches.append(current)
    return batches


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)) or "out of memory" in str(err)
