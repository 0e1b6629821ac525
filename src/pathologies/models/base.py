"""The Classifier protocol and the shared PyTorch machinery behind every implementation.

A classifier turns examples (word sequences, one segment perturbable) into class
probabilities, gradients of a class score with respect to the input embeddings, and
per-layer representations. Implementations only say how to encode words into tokens, how
to embed tokens and how to run the network from embeddings; everything else lives here.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Protocol, Sequence, runtime_checkable

import torch
from torch import Tensor

from ..text import Example, InputError, is_invisible_word
from .inputs import check_input

#: A word that encodes to the model's padding token (erasure by [PAD]).
PAD_WORD = "\u2400PAD"
#: A word that encodes to the model's unknown token (erasure by [UNK]).
UNK_WORD = "\u2400UNK"
#: A word whose embedding is replaced by zeros (erasure by a zero embedding).
ZERO_WORD = "\u2400ZERO"
SENTINELS = (PAD_WORD, UNK_WORD, ZERO_WORD)


class DroppedWordsWarning(UserWarning):
    """Words of an input were dropped because the model turns them into no token."""


@dataclass
class Encoded:
    """A batch of examples as model input.

    ``word_index[b, t]`` is the index of the perturbable word that token ``t`` belongs to,
    or -1 for special tokens, padding and the fixed segment.
    """

    input_ids: Tensor
    attention_mask: Tensor
    word_index: Tensor
    zero_mask: Tensor
    n_words: list[int]
    extra: dict[str, Tensor] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


@dataclass
class TokenGradients:
    """Per-token input embeddings and the gradient of the target score, for one example."""

    embeddings: Tensor  # [T, D]
    gradients: Tensor  # [T, D]
    word_index: Tensor  # [T]
    n_words: int
    probs: Tensor | None = None  # class probabilities from the same forward pass
    target: int | None = None


@dataclass
class Representations:
    """Per-layer representations (one vector per example each) and the sentence vector."""

    layers: dict[str, Tensor]
    sentence: Tensor


@runtime_checkable
class Classifier(Protocol):
    """What every method of the toolkit may ask of a model."""

    labels: list[str]

    def predict_proba(self, examples: Sequence[Example]) -> Tensor: ...

    def embedding_gradients(
        self, examples: Sequence[Example], targets: Sequence[int] | None = None
    ) -> list[TokenGradients]: ...

    def representations(self, examples: Sequence[Example]) -> Representations: ...

    def fit_to_limit(self, example: Example) -> Example: ...

    def n_tokens(self, example: Example) -> int: ...


class TorchClassifier(ABC):
    """Shared implementation of the protocol for PyTorch models."""

    labels: list[str]
    module: torch.nn.Module
    family: str = "torch"

    def __init__(self, module: torch.nn.Module, labels: Sequence[str], device: str = "cpu"):
        self.module = module.to(device).eval()
        self.labels = list(labels)
        self.device = torch.device(device)
        # Bumped whenever the weights may have changed; score caches key on it.
        self.version = 0

    # --- what an implementation provides -------------------------------------------
    @abstractmethod
    def encode(self, examples: Sequence[Example]) -> Encoded:
        """Tokenize a batch; words map to token positions through ``word_index``."""

    @abstractmethod
    def embed(self, enc: Encoded) -> Tensor:
        """Input embeddings [B, T, D] (before any position embedding is added)."""

    @abstractmethod
    def forward_embeddings(self, embeds: Tensor, enc: Encoded) -> Tensor:
        """Logits [B, C] from input embeddings."""

    @abstractmethod
    def hidden(self, embeds: Tensor, enc: Encoded) -> tuple[Tensor, Representations]:
        """Logits and per-layer representations from input embeddings."""

    @abstractmethod
    def n_tokens(self, example: Example) -> int:
        """Number of tokens the model sees for this example, special tokens included."""

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """The longest input, in tokens, the model accepts."""

    @abstractmethod
    def save(self, directory: str) -> None:
        """Write the model so that ``load_classifier(directory)`` reads it back."""

    # --- shared behaviour ------------------------------------------------------------
    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def mark_changed(self) -> None:
        """Call after changing the weights so cached scores are not reused."""
        self.version += 1

    def embed_with_zeros(self, enc: Encoded) -> Tensor:
        embeds = self.embed(enc)
        if bool(enc.zero_mask.any()):
            embeds = embeds.masked_fill(enc.zero_mask.unsqueeze(-1), 0.0)
        return embeds

    def logits(self, examples: Sequence[Example]) -> Tensor:
        enc = self.encode(examples)
        return self.forward_embeddings(self.embed_with_zeros(enc), enc)

    def predict_proba(self, examples: Sequence[Example]) -> Tensor:
        """Class probabilities [B, C] (float32, on the CPU)."""
        if not examples:
            return torch.empty(0, self.n_labels)
        with torch.inference_mode():
            return torch.softmax(self.logits(examples).float(), dim=-1).cpu()

    def embedding_gradients(
        self, examples: Sequence[Example], targets: Sequence[int] | None = None
    ) -> list[TokenGradients]:
        """Gradient of each example's target-class logit w.r.t. its input embeddings.

        ``targets`` None: the predicted class, taken from the same forward pass.
        """
        if targets is not None:
            self.check_targets(targets)
        enc = self.encode(examples)
        with torch.enable_grad():
            embeds = self.embed_with_zeros(enc).detach().requires_grad_(True)
            logits = self.forward_embeddings(embeds, enc)
            if targets is None:
                idx = logits.detach().argmax(1)
            else:
                idx = torch.as_tensor(list(targets), device=logits.device)
            # Only the input gradient: no parameter gradients are computed (or disturbed).
            (grad,) = torch.autograd.grad(logits.gather(1, idx[:, None]).sum(), embeds)
        probs = torch.softmax(logits.detach().float(), dim=-1).cpu()
        out = []
        for b in range(len(examples)):
            keep = enc.attention_mask[b].bool()
            out.append(
                TokenGradients(
                    embeddings=embeds[b][keep].detach().cpu(),
                    gradients=grad[b][keep].detach().cpu(),
                    word_index=enc.word_index[b][keep].cpu(),
                    n_words=enc.n_words[b],
                    probs=probs[b],
                    target=int(idx[b]),
                )
            )
        return out

    def representations(self, examples: Sequence[Example]) -> Representations:
        enc = self.encode(examples)
        with torch.inference_mode():
            _, reps = self.hidden(self.embed_with_zeros(enc), enc)
        return Representations(
            layers={k: v.float().cpu() for k, v in reps.layers.items()},
            sentence=reps.sentence.float().cpu(),
        )

    def check_targets(self, targets: Sequence[int]) -> None:
        for t in targets:
            if not 0 <= int(t) < self.n_labels:
                raise InputError(
                    f"label {t} is not one of the model's labels "
                    f"(0..{self.n_labels - 1}: {', '.join(self.labels)})"
                )

    def label_index(self, label: int | str) -> int:
        """Index of a label given by index or by name; a clear error otherwise."""
        if isinstance(label, str) and not label.lstrip("-").isdigit():
            if label not in self.labels:
                raise InputError(
                    f"label {label!r} is not one of the model's labels: {', '.join(self.labels)}"
                )
            return self.labels.index(label)
        index = int(label)
        self.check_targets([index])
        return index

    def pieceless(self, words: Sequence[str]) -> list[int]:
        """Positions of the words no method could score: words of invisible characters only
        (:func:`pathologies.text.is_invisible_word`), the one rule of every family; a family
        may add words its tokenizer turns into no piece."""
        return [i for i, w in enumerate(words) if is_invisible_word(w)]

    def drop_pieceless(self, example: Example) -> Example:
        """The example without its words that become no token (one warning naming them).

        Such a word would get a score of exactly 0 from every method and could never change
        the prediction. An example left without words (or a pair whose fixed segment is left
        empty) is an InputError.
        """
        fitted, message = self._without_pieceless(example)
        if message:
            warnings.warn(message, DroppedWordsWarning, stacklevel=2)
        return fitted

    def _without_pieceless(self, example: Example) -> tuple[Example, str | None]:
        drop = self.pieceless(example.words)
        fixed_drop = self.pieceless(example.fixed) if example.fixed is not None else []
        if not drop and not fixed_drop:
            return example, None
        name = example.uid or repr(" ".join(example.words)[:40])
        gone = [example.words[i] for i in drop] + [example.fixed[i] for i in fixed_drop]  # type: ignore[index]
        shown = ", ".join(repr(w) for w in gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        if len(drop) == len(example.words):
            raise InputError(
                f"input {name}: none of its words ({shown}) becomes a token of the model, so nothing is left to explain"
            )
        if example.fixed is not None and len(fixed_drop) == len(example.fixed):
            raise InputError(f"input {name}: none of the words of its fixed segment ({shown}) becomes a token of the model")
        keep = [i for i in range(len(example.words)) if i not in set(drop)]
        fitted = example.with_words([example.words[i] for i in keep])
        if example.tags is not None:
            fitted = replace(fitted, tags=tuple(example.tags[i] for i in keep))
        if fixed_drop:
            fixed = tuple(w for i, w in enumerate(example.fixed or ()) if i not in set(fixed_drop))
            fitted = replace(fitted, fixed=fixed)
        plural = "s that become" if len(gone) > 1 else " that becomes"
        return fitted, f"input {name}: dropped {len(gone)} word{plural} no token of the model: {shown}"

    def fit_to_limit(self, example: Example) -> Example:
        """Drop the words that become no token (:meth:`drop_pieceless`), then words from the
        end of the perturbable segment until the input fits.

        Warns with the number of words dropped; raises if even the fixed segment is too long.
        """
        check_input(self, example)  # a pair to a single-sentence model, or the reverse: one line
        example, dropped_message = self._without_pieceless(example)
        n = self.n_tokens(example)
        if n <= self.max_tokens:
            if dropped_message:  # warned only once the input is known to be usable
                warnings.warn(dropped_message, DroppedWordsWarning, stacklevel=2)
            return example
        words = list(example.words)
        lo, hi = 0, len(words)  # largest prefix length that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.n_tokens(example.with_words(words[:mid])) <= self.max_tokens:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            name = example.uid or repr(" ".join(example.words)[:40])
            raise InputError(
                f"input {name} is longer than the model's limit of {self.max_tokens} tokens "
                "even without its perturbable words; shorten the fixed segment"
            )
        dropped = len(words) - lo
        if dropped_message:
            warnings.warn(dropped_message, DroppedWordsWarning, stacklevel=2)
        warnings.warn(
            f"input of {len(words)} words ({n} tokens) is longer than the model's limit of "
            f"{self.max_tokens} tokens: dropped the last {dropped} words",
            stacklevel=2,
        )
        fitted = example.with_words(words[:lo])
        if example.tags is not None:
            fitted = replace(fitted, tags=example.tags[:lo])
        return fitted
