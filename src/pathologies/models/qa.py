"""Any Hugging Face extractive question-answering model (``AutoModelForQuestionAnswering``).

An input is an :class:`~pathologies.text.Example` whose perturbable words are the question
and whose fixed segment is the context (``Example(question_words, fixed=context_words,
fixed_first=False)``; :func:`qa_example` builds one). The model sees the question first and
the context second (context first for tokenizers that pad on the left, as the HF pipeline).

**Windows.** A context longer than the model's limit is never cut: it is split into windows
of whole context words that fit beside the question (``max_length`` tokens in all, 384 by
default as in the HF question-answering pipeline) and overlap by up to ``stride`` tokens
(128, the pipeline's ``doc_stride``). Windows are word-aligned (a word is never split
between two windows), so every word-level span lies whole in some window. The windows
depend on the question's length: a shorter question leaves more room for the context, as in
the pipeline.

**Spans.** The prediction is a span of context *words* ``(start, end)``, inclusive. In each
window the start and end logits are turned into log-probabilities by a softmax over the
window's context pieces and the first special token ([CLS], the null answer), as the pipeline
does; a word starts a span with the log-probability of its first piece and ends it with that
of its last piece. A span's log-probability is ``log p_start + log p_end`` in the window
that gives it the highest value; the predicted span is the best over all windows with
``end >= start`` and at most ``max_answer_words`` words. With ``null_answer`` (SQuAD 2.0
models) the null answer ``(-1, -1)`` scores ``log p_start([CLS]) + log p_end([CLS])``,
the lowest over windows (the pipeline's ``min_null_score``), and is predicted when it beats
every span.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ..text import Example, InputError
from .base import PAD_WORD, UNK_WORD, ZERO_WORD, TokenGradients
from .files import check_hf_folder, first_line, hf_weights_file
from .hf import _quiet_transformers, check_model_path, load_tokenizer

#: The null answer of SQuAD 2.0 ("no answer in the context").
NULL_SPAN = (-1, -1)


def qa_example(question: str | Sequence[str], context: str | Sequence[str], *, uid: str | None = None) -> Example:
    """A question (perturbable, split on whitespace) with its context (fixed)."""
    q = question.split() if isinstance(question, str) else list(question)
    c = context.split() if isinstance(context, str) else list(context)
    if not q:
        raise InputError(f"question{' ' + uid if uid else ''} is empty: there are no words to explain")
    if not c:
        raise InputError(f"question {uid or repr(' '.join(q)[:40])}: the context is empty")
    return Example(tuple(q), fixed=tuple(c), fixed_first=False, uid=uid)


@dataclass
class Window:
    """One window of the context: words ``[lo, hi)`` with their span log-probabilities."""

    lo: int
    hi: int
    start: Tensor  # [hi - lo] log p(start at word)
    end: Tensor  # [hi - lo] log p(end at word)
    null: float  # log p_start([CLS]) + log p_end([CLS])


@dataclass
class SpanScores:
    """What the model says about one input: every window's start/end log-probabilities and the
    predicted span (``NULL_SPAN`` for the null answer) with its log-probability."""

    windows: list[Window]
    span: tuple[int, int]
    logp: float
    best_span: tuple[int, int] = NULL_SPAN  # the best non-null span (the prediction without null)
    best_span_logp: float = float("-inf")
    null_logp: float = float("-inf")

    def span_logp(self, span: Sequence[int]) -> float:
        """log-probability of ``span`` (the null answer: the lowest null score over windows)."""
        i, j = int(span[0]), int(span[1])
        if (i, j) == NULL_SPAN:
            return self.null_logp
        best = float("-inf")
        for w in self.windows:
            if w.lo <= i <= j < w.hi:
                best = max(best, float(w.start[i - w.lo] + w.end[j - w.lo]))
        return best

    def window_of(self, span: Sequence[int]) -> int:
        """Index of the window giving ``span`` its log-probability."""
        i, j = int(span[0]), int(span[1])
        if (i, j) == NULL_SPAN:
            return min(range(len(self.windows)), key=lambda k: self.windows[k].null)
        best, index = float("-inf"), -1
        for k, w in enumerate(self.windows):
            if w.lo <= i <= j < w.hi:
                value = float(w.start[i - w.lo] + w.end[j - w.lo])
                if value > best:
                    best, index = value, k
        if index < 0:
            raise InputError(f"span {span} lies in no window of the context")
        return index


@dataclass
class Feature:
    """One model input: a question with one window of its context, as token ids."""

    input_ids: list[int]
    token_type_ids: list[int]
    question_word: list[int]  # per token: index of the question word, or -1
    context_word: list[int]  # per token: index of the context word (whole context), or -1
    first_piece: dict[int, int] = field(default_factory=dict)  # context word -> token position
    last_piece: dict[int, int] = field(default_factory=dict)
    cls: int = 0
    lo: int = 0
    hi: int = 0


class QAModel:
    """A ``transformers`` extractive QA model: spans of context words for questions.

    ``max_length``: tokens per window (question, context window and special tokens; default
    ``min(384, the model's limit)``); ``stride``: tokens of overlap between windows (128);
    ``max_answer_words``: the longest span predicted (15 words); ``null_answer``: the null
    answer can be predicted (SQuAD 2.0 models).
    """

    family = "hf-qa"

    def __init__(
        self,
        model,
        tokenizer,
        *,
        device: str = "cpu",
        max_length: int | None = None,
        stride: int = 128,
        max_answer_words: int = 15,
        null_answer: bool = False,
    ):
        self.module = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.version = 0
        self.labels: list[str] = []
        limit = _model_limit(model, tokenizer)
        self.max_length = int(min(max_length or 384, limit))
        if stride < 0:
            raise InputError("stride must be 0 or more tokens")
        if max_answer_words < 1:
            raise InputError("max_answer_words must be at least 1")
        self.stride = stride
        self.max_answer_words = max_answer_words
        self.null_answer = null_answer
        self.question_first = getattr(tokenizer, "padding_side", "right") != "left"
        self.n_special = tokenizer.num_special_tokens_to_add(pair=True)
        self._sentinels = {
            PAD_WORD: tokenizer.pad_token or tokenizer.unk_token,
            UNK_WORD: tokenizer.unk_token or tokenizer.pad_token,
        }
        self._pieces = lru_cache(maxsize=500_000)(self._count_pieces)

    @classmethod
    def load(
        cls,
        path_or_name: str | Path,
        *,
        device: str = "cpu",
        trust_remote_code: bool = False,
        **settings,
    ) -> "QAModel":
        """Load a QA model from a directory or a hub name (safetensors or weights-only loading
        by ``transformers``; remote code only with ``trust_remote_code``)."""
        from transformers import AutoModelForQuestionAnswering

        _quiet_transformers()
        name = str(path_or_name)
        check_model_path(name)
        local = Path(name).expanduser()
        if local.exists():
            check_hf_folder(local)
        try:
            model = AutoModelForQuestionAnswering.from_pretrained(name, trust_remote_code=trust_remote_code)
        except Exception as err:
            if not local.exists():
                raise InputError(
                    f"could not load QA model {name!r}: it is not a model directory here and could not be "
                    f"fetched from the hub ({first_line(err)})"
                ) from None
            weights = hf_weights_file(local) or local
            raise InputError(f"{weights}: not a question-answering model that loads ({type(err).__name__}: {first_line(err)})") from None
        try:
            tokenizer = load_tokenizer(name, trust_remote_code=trust_remote_code)
            tokenizer([["the"]], [["a"]], is_split_into_words=True)
        except InputError:
            raise
        except Exception as err:
            raise InputError(f"{name}: the tokenizer files cannot be read ({first_line(err)})") from None
        if len(tokenizer) > model.get_input_embeddings().num_embeddings:
            raise InputError(f"{name}: the tokenizer has more tokens than the model embeds; the files belong to another model")
        return cls(model, tokenizer, device=device, **settings)

    def save(self, directory: str | Path) -> None:
        _quiet_transformers()
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.module.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))
        (Path(directory) / "pathologies.json").write_text(json.dumps({"family": self.family}))

    def mark_changed(self) -> None:
        self.version += 1

    # --- sizes and windows --------------------------------------------------------------
    def _count_pieces(self, word: str) -> int:
        word = self._sentinels.get(word, word)
        return len(self.tokenizer([word], is_split_into_words=True, add_special_tokens=False)["input_ids"])

    def n_pieces(self, words: Sequence[str]) -> int:
        return sum(self._pieces(w) for w in words)

    def windows(self, example: Example) -> list[tuple[int, int]]:
        """The context windows ``[lo, hi)`` (in context words) beside this question."""
        context = example.fixed or ()
        q = self.n_pieces(example.words)
        budget = self.max_length - self.n_special - q
        name = example.uid or repr(" ".join(example.words)[:40])
        if budget < 1:
            raise InputError(
                f"question {name} has {q} tokens: with the context it cannot fit the model's limit of "
                f"{self.max_length} tokens (shorten the question)"
            )
        sizes = [self._pieces(w) for w in context]
        overlap = min(self.stride, budget // 2)
        out: list[tuple[int, int]] = []
        lo = 0
        while True:
            hi, used = lo, 0
            while hi < len(sizes) and used + sizes[hi] <= budget:
                used += sizes[hi]
                hi += 1
            if hi == lo:
                raise InputError(
                    f"question {name}: context word {context[lo]!r} has {sizes[lo]} tokens, more than the "
                    f"{budget} left beside the question"
                )
            out.append((lo, hi))
            if hi >= len(sizes):
                return out
            nxt, kept = hi, 0
            while nxt - 1 > lo and kept + sizes[nxt - 1] <= overlap:
                nxt -= 1
                kept += sizes[nxt]
            lo = nxt

    def n_tokens(self, example: Example) -> int:
        """Tokens of the input's longest window (special tokens included)."""
        q = self.n_pieces(example.words)
        return q + self.n_special + max(self.n_pieces((example.fixed or ())[lo:hi]) for lo, hi in self.windows(example))

    def features(self, examples: Sequence[Example]) -> list[list[Feature]]:
        """Every window of every example as token ids (one tokenizer call for all)."""
        pairs, owners = [], []
        for e, ex in enumerate(examples):
            if ex.fixed is None:
                raise InputError("a QA input needs a context (the fixed segment)")
            q = [self._sentinels.get(w, w) for w in ex.words]
            if ZERO_WORD in ex.words:
                raise InputError("zero-embedding erasure is not available for QA models; use erasure-unk or erasure-pad")
            for lo, hi in self.windows(ex):
                pairs.append((q, list(ex.fixed[lo:hi]), lo, hi))
                owners.append(e)
        out: list[list[Feature]] = [[] for _ in examples]
        if not pairs:
            return out
        firsts = [p[0] if self.question_first else p[1] for p in pairs]
        seconds = [p[1] if self.question_first else p[0] for p in pairs]
        enc = self.tokenizer(firsts, seconds, is_split_into_words=True, truncation=False)
        q_seq, c_seq = (0, 1) if self.question_first else (1, 0)
        cls_id = self.tokenizer.cls_token_id
        for n, ((_, _, lo, hi), e) in enumerate(zip(pairs, owners)):
            ids = list(enc["input_ids"][n])
            types = list(enc["token_type_ids"][n]) if "token_type_ids" in enc else [0] * len(ids)
            qw, cw = [], []
            first: dict[int, int] = {}
            last: dict[int, int] = {}
            for t, (s, w) in enumerate(zip(enc.sequence_ids(n), enc.word_ids(n))):
                qw.append(w if s == q_seq and w is not None else -1)
                if s == c_seq and w is not None:
                    word = lo + w
                    cw.append(word)
                    first.setdefault(word, t)
                    last[word] = t
                else:
                    cw.append(-1)
            cls = ids.index(cls_id) if cls_id is not None and cls_id in ids else 0
            out[e].append(Feature(ids, types, qw, cw, first, last, cls, lo, hi))
        return out

    # --- network ----------------------------------------------------------------------
    def _batch(self, feats: Sequence[Feature]) -> tuple[dict[str, Tensor], Tensor]:
        T = max(len(f.input_ids) for f in feats)
        B = len(feats)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((B, T), pad, dtype=torch.long)
        types = torch.zeros((B, T), dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        for b, f in enumerate(feats):
            n = len(f.input_ids)
            ids[b, :n] = torch.tensor(f.input_ids)
            types[b, :n] = torch.tensor(f.token_type_ids)
            mask[b, :n] = 1
        inputs = {"attention_mask": mask.to(self.device)}
        if "token_type_ids" in self.tokenizer.model_input_names:
            inputs["token_type_ids"] = types.to(self.device)
        return inputs, ids.to(self.device)

    def _valid(self, f: Feature, T: int) -> Tensor:
        valid = torch.zeros(T, dtype=torch.bool)
        for t, w in enumerate(f.context_word):
            if w >= 0:
                valid[t] = True
        valid[f.cls] = True
        return valid

    def logits(self, feats: Sequence[Feature], embeds: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Start and end logits [B, T] of a batch of features (from ``embeds`` if given)."""
        inputs, ids = self._batch(feats)
        if embeds is None:
            out = self.module(input_ids=ids, **inputs)
        else:
            out = self.module(inputs_embeds=embeds, **inputs)
        return out.start_logits, out.end_logits

    def window_logprobs(self, f: Feature, start: Tensor, end: Tensor) -> Window:
        """A window's word-level start/end log-probabilities from its token logits."""
        valid = self._valid(f, start.shape[0]).to(start.device)
        ls = torch.log_softmax(start.float().masked_fill(~valid, float("-inf")), dim=-1)
        le = torch.log_softmax(end.float().masked_fill(~valid, float("-inf")), dim=-1)
        words = range(f.lo, f.hi)
        # A word the tokenizer turns into no piece (a zero-width character) can be no span's end.
        missing = torch.tensor([w not in f.first_piece for w in words], device=ls.device)
        firsts = torch.tensor([f.first_piece.get(w, f.cls) for w in words], device=ls.device)
        lasts = torch.tensor([f.last_piece.get(w, f.cls) for w in words], device=ls.device)
        start = ls[firsts].masked_fill(missing, float("-inf"))
        end = le[lasts].masked_fill(missing, float("-inf"))
        return Window(f.lo, f.hi, start, end, ls[f.cls] + le[f.cls])

    def span_scores(self, windows: list[Window]) -> SpanScores:
        """The prediction from an input's windows (see the module's notes)."""
        best, best_logp = NULL_SPAN, float("-inf")
        for w in windows:
            S = w.start.detach().cpu()[:, None] + w.end.detach().cpu()[None, :]
            n = S.shape[0]
            i = torch.arange(n)
            ok = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < self.max_answer_words)
            S = S.masked_fill(~ok, float("-inf"))
            k = int(S.argmax())
            value = float(S.view(-1)[k])
            if value > best_logp:
                best_logp, best = value, (w.lo + k // n, w.lo + k % n)
        null = min(float(w.null) for w in windows)
        wins = [Window(w.lo, w.hi, w.start.detach().cpu(), w.end.detach().cpu(), float(w.null)) for w in windows]
        span, logp = best, best_logp
        if self.null_answer and null > best_logp:
            span, logp = NULL_SPAN, null
        return SpanScores(wins, span, logp, best, best_logp, null)

    def predict(self, examples: Sequence[Example]) -> list[SpanScores]:
        """Span scores of ``examples``, all windows in one batch (use :class:`QAEngine` for
        many inputs: it batches under a token budget, deduplicates and caches)."""
        feats = self.features(examples)
        flat = [f for fs in feats for f in fs]
        with torch.inference_mode():
            start, end = self.logits(flat)
        wins, n = [], 0
        for fs in feats:
            wins.append([self.window_logprobs(f, start[n + k], end[n + k]) for k, f in enumerate(fs)])
            n += len(fs)
        return [self.span_scores(w) for w in wins]

    def span_gradients(
        self,
        examples: Sequence[Example],
        spans: Sequence[Sequence[int]],
        windows: Sequence[int] | None = None,
    ) -> list[TokenGradients]:
        """Gradient of each span's log-probability (in the window that gives it its value)
        with respect to the input embeddings of that window, one forward+backward pass for
        the batch; ``word_index`` maps tokens to question words. ``probs`` holds the span's
        probability, ``target`` is unused (0).

        ``windows``: the index of that window per example (:meth:`SpanScores.window_of`, which
        the engine's scores give); None: found with one batched forward pass.
        """
        chosen = self._chosen(examples, spans, windows)
        inputs, ids = self._batch(chosen)
        with torch.enable_grad():
            embeds = self.module.get_input_embeddings()(ids).detach().requires_grad_(True)
            values = self._span_logp(chosen, spans, embeds)
            (grad,) = torch.autograd.grad(values.sum(), embeds)
        out = []
        for b, (f, ex) in enumerate(zip(chosen, examples)):
            n = len(f.input_ids)
            out.append(
                TokenGradients(
                    embeddings=embeds[b, :n].detach().cpu(),
                    gradients=grad[b, :n].detach().cpu(),
                    word_index=torch.tensor(f.question_word),
                    n_words=len(ex.words),
                    probs=torch.tensor([float(values[b].detach().exp())]),
                    target=0,
                )
            )
        return out

    def _chosen(self, examples, spans, windows) -> list[Feature]:
        """The window of each example that gives its span its value (found with one batched
        pass when ``windows`` is None)."""
        feats = self.features(examples)
        if windows is None:
            windows = [0] * len(examples)
            multi = [e for e, fs in enumerate(feats) if len(fs) > 1]
            if multi:
                scored = self.predict([examples[e] for e in multi])
                for e, sc in zip(multi, scored):
                    windows[e] = sc.window_of(spans[e])
        return [fs[w] for fs, w in zip(feats, windows)]

    def _span_logp(self, chosen: Sequence[Feature], spans, embeds: Tensor) -> Tensor:
        """log p(span) [B] of each feature's span, from input embeddings (differentiable)."""
        start, end = self.logits(chosen, embeds)
        total = []
        for b, (f, span) in enumerate(zip(chosen, spans)):
            valid = self._valid(f, start.shape[1]).to(start.device)
            ls = torch.log_softmax(start[b].float().masked_fill(~valid, float("-inf")), dim=-1)
            le = torch.log_softmax(end[b].float().masked_fill(~valid, float("-inf")), dim=-1)
            i, j = int(span[0]), int(span[1])
            if (i, j) == NULL_SPAN:
                total.append(ls[f.cls] + le[f.cls])
            else:
                total.append(ls[f.first_piece[i]] + le[f.last_piece[j]])
        return torch.stack(total)

    def span_integrated_gradients(
        self,
        examples: Sequence[Example],
        spans: Sequence[Sequence[int]],
        windows: Sequence[int] | None = None,
        n_steps: int = 50,
    ) -> list[TokenGradients]:
        """Integrated gradients of each span's *probability* (in the window that gives it its
        value) from a baseline with the [PAD] embedding at every question piece (special
        tokens and the context kept), by the midpoint rule over ``n_steps`` points: one
        batched forward+backward pass per point. ``embeddings`` holds input − baseline and
        ``gradients`` the mean gradient, so their dot product summed over a word's pieces is
        its score; the scores add up to p(span | question) − p(span | baseline)."""
        chosen = self._chosen(examples, spans, windows)
        inputs, ids = self._batch(chosen)
        table = self.module.get_input_embeddings()
        question = torch.zeros(ids.shape, dtype=torch.bool)
        for b, f in enumerate(chosen):
            question[b, : len(f.question_word)] = torch.tensor([w >= 0 for w in f.question_word])
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        x = table(ids).detach()
        base = table(ids.masked_fill(question.to(ids.device), pad)).detach()
        delta = x - base
        total = torch.zeros_like(x)
        with torch.enable_grad():
            for k in range(n_steps):
                point = (base + (k + 0.5) / n_steps * delta).requires_grad_(True)
                values = self._span_logp(chosen, spans, point).exp()
                (grad,) = torch.autograd.grad(values.sum(), point)
                total += grad
        with torch.no_grad():
            p_full = self._span_logp(chosen, spans, x).exp()
        out = []
        for b, (f, ex) in enumerate(zip(chosen, examples)):
            n = len(f.input_ids)
            out.append(
                TokenGradients(
                    embeddings=delta[b, :n].detach().cpu(),
                    gradients=(total[b, :n] / n_steps).detach().cpu(),
                    word_index=torch.tensor(f.question_word),
                    n_words=len(ex.words),
                    probs=torch.tensor([float(p_full[b])]),
                    target=0,
                )
            )
        return out

    def train_logprobs(self, examples: Sequence[Example], spans: Sequence[Sequence[int]] | None = None):
        """For training: per example, the start and end log-probability vectors of its first
        window holding the span (any window when ``spans`` is None) and the token positions
        of the span's first and last pieces (the [CLS] position for the null answer).

        Returns ``(start_logp [B, T], end_logp [B, T], start_pos [B], end_pos [B])`` with
        gradients enabled.
        """
        feats = self.features(examples)
        chosen, starts, ends = [], [], []
        for b, fs in enumerate(feats):
            span = NULL_SPAN if spans is None else tuple(int(x) for x in spans[b])
            f = fs[0]
            if span != NULL_SPAN:
                f = next((g for g in fs if g.lo <= span[0] <= span[1] < g.hi), None) or fs[0]
            chosen.append(f)
            if span == NULL_SPAN or not (f.lo <= span[0] <= span[1] < f.hi):
                starts.append(f.cls)
                ends.append(f.cls)
            else:  # the span's outer words with pieces (a zero-width word has none)
                inner = [w for w in range(span[0], span[1] + 1) if w in f.first_piece] or [None]
                starts.append(f.first_piece.get(inner[0], f.cls))
                ends.append(f.last_piece.get(inner[-1], f.cls))
        start, end = self.logits(chosen)
        valid = torch.stack([self._valid(f, start.shape[1]) for f in chosen]).to(start.device)
        ls = torch.log_softmax(start.float().masked_fill(~valid, float("-inf")), dim=-1)
        le = torch.log_softmax(end.float().masked_fill(~valid, float("-inf")), dim=-1)
        return ls, le, torch.tensor(starts, device=ls.device), torch.tensor(ends, device=ls.device)


def _model_limit(model, tokenizer) -> int:
    limit = tokenizer.model_max_length
    cfg = model.config
    pos = getattr(cfg, "max_position_embeddings", None)
    if pos is not None:
        if cfg.model_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
            pos -= (cfg.pad_token_id or 0) + 1
        limit = min(limit, pos)
    return int(min(limit, 100_000))


def load_qa_model(path_or_name: str | Path, **settings) -> QAModel:
    """Load any Hugging Face extractive QA model (folder or hub name); see :class:`QAModel`."""
    return QAModel.load(path_or_name, **settings)
