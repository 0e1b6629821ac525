"""Batched, deduplicated, cached span scoring of many question variants.

The QA counterpart of :class:`pathologies.engine.ScoringEngine`: methods hand it every
variant they need (each question word deleted, each beam state, across many questions); it
drops duplicates, serves cached results, cuts every remaining input into its context windows,
sorts all windows of all variants by length, fills batches under a token budget
(:func:`pathologies.engine.token_batches`) and runs them under inference mode; running out
of memory halves the batch. Each variant
comes back as :class:`~pathologies.models.qa.SpanScores` (every window's start/end
log-probabilities and the predicted span).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, Sequence

import torch

from ..engine import _is_oom, model_state, token_batches
from ..models.qa import QAModel, SpanScores
from ..progress import progress_bar
from ..text import Example


@dataclass
class QAEngineStats:
    requested: int = 0
    unique: int = 0
    cache_hits: int = 0
    computed: int = 0  # inputs run through the model
    windows: int = 0  # windows (model rows) computed
    batches: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    oom_retries: int = 0


class QAEngine:
    """Span scores for many QA inputs: dedup, LRU cache keyed on the weights, token-budget batches."""

    def __init__(self, model: QAModel, *, batch_tokens: int = 8192, max_batch: int = 64,
                 cache_size: int = 50_000, show_progress: bool = False):
        self.model = model
        self.batch_tokens = batch_tokens
        self.max_batch = max_batch
        self.cache_size = cache_size
        self.show_progress = show_progress
        self._cache: OrderedDict[Hashable, SpanScores] = OrderedDict()
        self.stats = QAEngineStats()
        self.model_calls = 0

    def scores(self, variants: Sequence[Example]) -> list[SpanScores]:
        """One :class:`SpanScores` per variant, in order."""
        state = model_state(self.model)  # type: ignore[arg-type]
        keys = [(state, v.key()) for v in variants]
        self.stats.requested += len(variants)
        found: dict[Hashable, SpanScores] = {}
        todo: dict[Hashable, Example] = {}
        for key, v in zip(keys, variants):
            if key in found or key in todo:
                continue
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                found[key] = hit
                self.stats.cache_hits += 1
            else:
                todo[key] = v
        self.stats.unique += len(found) + len(todo)
        if todo:
            for key, result in zip(todo, self._compute(list(todo.values()))):
                found[key] = result
                self._cache[key] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def _compute(self, variants: list[Example]) -> list[SpanScores]:
        model = self.model
        feats = model.features(variants)
        flat = [(v, f) for v, fs in enumerate(feats) for f in fs]
        lengths = [len(f.input_ids) for _, f in flat]
        windows: list[list] = [[None] * len(fs) for fs in feats]
        slot = {}
        for v, fs in enumerate(feats):
            for k, f in enumerate(fs):
                slot[id(f)] = (v, k)
        pending = token_batches(lengths, self.batch_tokens, self.max_batch)
        with progress_bar("scoring", len(flat), self.show_progress) as advance:
            while pending:
                batch = pending.pop(0)
                fs = [flat[i][1] for i in batch]
                with torch.inference_mode():
                    try:
                        start, end = model.logits(fs)
                    except (torch.cuda.OutOfMemoryError, MemoryError, RuntimeError) as err:
                        if not _is_oom(err) or len(batch) == 1:
                            raise
                        self.stats.oom_retries += 1  # halve the batch and the budgets, retry
                        self.batch_tokens = max(1, self.batch_tokens // 2)
                        self.max_batch = max(1, len(batch) // 2)
                        pending[:0] = [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
                        continue
                    for b, f in enumerate(fs):
                        v, k = slot[id(f)]
                        windows[v][k] = model.window_logprobs(f, start[b], end[b])
                self.model_calls += 1
                self.stats.batches += 1
                self.stats.windows += len(batch)
                self.stats.real_tokens += sum(lengths[i] for i in batch)
                self.stats.padded_tokens += max(lengths[i] for i in batch) * len(batch)
                advance(len(batch))
        self.stats.computed += len(variants)
        return [model.span_scores(w) for w in windows]
