"""Word likelihoods at a masked position: a Hugging Face masked LM, and the paper's baselines
(uniform over the vocabulary, and the prior: word frequencies of the training text).

A word is marginalized as a whole: all its pieces are replaced by ONE mask token, and the
candidates are the vocabulary entries that are whole words (not continuation pieces, not
special tokens), with the masked LM's probabilities renormalized over them. Candidates made
of several pieces would need a joint distribution over several masks, which a masked LM
does not give in one pass; whole-word entries cover the words that matter (the paper does
the same with BERT's vocabulary).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import Tensor

from ..text import Example, InputError
from .files import first_line, read_json
from .hf import _load_error, _quiet_transformers, check_model_path, load_tokenizer


class _Ranked(Sequence[str]):
    """Vocabulary words in a given order, looked up only when read (vocabularies are large)."""

    def __init__(self, vocab: Sequence[str], order: list[int]):
        self._vocab, self._order = vocab, order

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._vocab[j] for j in self._order[i]]
        return self._vocab[self._order[i]]


@dataclass
class WordDistribution:
    """Candidate words for one position, most likely first, with probabilities summing to 1."""

    words: Sequence[str]
    probs: Tensor  # [V] float64, sorted descending


class MaskedWordModel:
    """What marginalization asks of a likelihood model."""

    name = "mlm"

    def distributions(self, example: Example, positions: Sequence[int]) -> list[WordDistribution]:
        """The distribution of the word at each position given the rest of the input."""
        raise NotImplementedError


def whole_word_vocab(tokenizer) -> tuple[list[int], list[str]]:
    """Ids and words of the vocabulary entries that are whole words."""
    special = set(tokenizer.all_special_ids)
    byte_level = "ByteLevel" in repr(getattr(tokenizer.backend_tokenizer, "pre_tokenizer", ""))
    ids, words = [], []
    for token, i in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if i in special or re.fullmatch(r"\[unused\d+\]|<.*>", token):
            continue
        if byte_level:
            if token.startswith("\u0120") and len(token) > 1:
                ids.append(i)
                words.append(token[1:])
        elif not token.startswith("##"):
            ids.append(i)
            words.append(token)
    return ids, words


class HFMaskedLM(MaskedWordModel):
    """Any ``AutoModelForMaskedLM``; all positions of a sentence are masked in one batch."""

    name = "mlm"

    def __init__(self, model, tokenizer, device: str = "cpu"):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        ids, self.words = whole_word_vocab(tokenizer)
        self.word_ids = torch.tensor(ids)

    @classmethod
    def load(cls, path_or_name: str, device: str = "cpu", trust_remote_code: bool = False) -> "HFMaskedLM":
        """A masked LM from a folder or hub name. A damaged or wrong folder is one line naming
        the file: a config that is not JSON, weights that cannot be read, no tokenizer, or
        weights with no masked-LM head (a classifier folder: its head would be random)."""
        from pathlib import Path

        from transformers import AutoModelForMaskedLM

        _quiet_transformers()
        check_model_path(path_or_name)
        local = Path(path_or_name).expanduser()
        if local.is_dir():
            if not (local / "config.json").is_file():
                raise InputError(f"{local}: no config.json, so not a masked LM folder (make one with `pathologies train-mlm`)")
            read_json(local / "config.json", "the masked LM's configuration")  # not JSON: one line naming it
        try:
            model, info = AutoModelForMaskedLM.from_pretrained(
                path_or_name, trust_remote_code=trust_remote_code, output_loading_info=True
            )
        except Exception as err:  # noqa: BLE001 - every loading failure is one line naming the file
            raise _load_error(path_or_name, local, "masked LM", err) from None
        missing = [k for k in info.get("missing_keys", []) if not k.endswith("decoder.weight")]  # tied to the embeddings
        head = [k for k in missing if any(h in k for h in ("cls.", "lm_head", "predictions", "vocab_projector", "generator_lm"))]
        if head:
            raise InputError(
                f"{path_or_name}: the weights have no masked-LM head ({head[0]} missing): not a masked LM (a classifier "
                "folder?); train one with `pathologies train-mlm`"
            )
        try:
            tokenizer = load_tokenizer(path_or_name, trust_remote_code=trust_remote_code)
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001
            raise InputError(f"{local}: the tokenizer files cannot be read ({first_line(err)}); save the tokenizer again") from None
        if tokenizer.mask_token is None:
            raise InputError(f"{path_or_name}: the tokenizer has no mask token")
        return cls(model, tokenizer, device)

    def _masked_batch(self, example: Example, positions: Sequence[int]):
        """One input per position, the word there replaced by a single mask token."""
        mask = self.tokenizer.mask_token
        firsts, seconds = [], []
        for pos in positions:
            words = list(example.words)
            words[pos] = mask
            masked = example.with_words(words)
            a, b = masked.segments()
            firsts.append(list(a))
            seconds.append(list(b) if b is not None else None)
        pair = example.is_pair
        enc = self.tokenizer(
            firsts, seconds if pair else None, is_split_into_words=True, padding=True,
            truncation=True, return_tensors="pt",
        )
        where = (enc["input_ids"] == self.tokenizer.mask_token_id).nonzero()
        if where.shape[0] != len(positions):
            raise InputError("the input is too long for the masked LM, or holds a mask token of its own")
        return enc, where

    def distributions(self, example: Example, positions: Sequence[int]) -> list[WordDistribution]:
        if not positions:
            return []
        enc, where = self._masked_batch(example, positions)
        with torch.inference_mode():
            logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits
        rows = logits[where[:, 0], where[:, 1]].float().cpu()[:, self.word_ids]
        probs = torch.softmax(rows.double(), dim=-1)
        out = []
        for p in probs:
            order = torch.argsort(p, descending=True)
            out.append(WordDistribution(_Ranked(self.words, order.tolist()), p[order]))
        return out


class UniformLM(MaskedWordModel):
    """Every whole word of a vocabulary equally likely (the paper's uniform baseline)."""

    name = "uniform"

    def __init__(self, words: Sequence[str]):
        self.words = list(dict.fromkeys(words))
        n = len(self.words)
        self.probs = torch.full((n,), 1.0 / n, dtype=torch.float64)

    def distributions(self, example, positions):
        return [WordDistribution(self.words, self.probs) for _ in positions]


class PriorLM(MaskedWordModel):
    """Word frequencies counted on training text, whatever the context (the paper's prior)."""

    name = "prior"

    def __init__(self, texts: Iterable[Sequence[str]], lowercase: bool = True, min_count: int = 1):
        counts = Counter(w.lower() if lowercase else w for words in texts for w in words)
        items = [(w, c) for w, c in counts.most_common() if c >= min_count]
        if not items:
            raise InputError("the prior needs some training text")
        total = sum(c for _, c in items)
        self.words = [w for w, _ in items]
        self.probs = torch.tensor([c / total for _, c in items], dtype=torch.float64)

    def distributions(self, example, positions):
        return [WordDistribution(self.words, self.probs) for _ in positions]


def load_mlm(path_or_name: str, device: str = "cpu", trust_remote_code: bool = False) -> HFMaskedLM:
    """A Hugging Face masked LM from a directory or a hub name."""
    return HFMaskedLM.load(path_or_name, device=device, trust_remote_code=trust_remote_code)


def masked_accuracy(mlm: HFMaskedLM, examples: Sequence[Example], k: int = 5, limit_words: int = 2000, seed: int = 0) -> dict[str, float]:
    """Top-1 / top-k accuracy of predicting a masked whole word (one random word per sentence)."""
    rng = random.Random(seed)
    hits1 = hitsk = n = 0
    for ex in examples:
        if n >= limit_words or not ex.words:
            continue
        pos = rng.randrange(len(ex.words))
        dist = mlm.distributions(ex, [pos])[0]
        gold = ex.words[pos].lower() if getattr(mlm.tokenizer, "do_lower_case", True) else ex.words[pos]
        hits1 += dist.words[0] == gold
        hitsk += gold in dist.words[:k]
        n += 1
    if not n:
        raise InputError("no words to evaluate")
    return {"top1": hits1 / n, f"top{k}": hitsk / n, "words": n}

