"""Tiny Hugging Face classifiers built inside the tests: random weights, tokenizers written here."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a movie film was is great fun bad boring not very good awful . , ! "
    "man woman dog sleeps runs nobody sleeping outside inside un ##believ ##ably ##able"
).split()


def make_bert_dir(root: Path, num_labels: int = 2, max_position_embeddings: int = 64) -> Path:
    """A 2-layer BERT classifier with a WordPiece vocabulary written by the test."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
    import torch

    root.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab=str(root / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
        num_labels=num_labels,
        id2label={i: f"class{i}" for i in range(num_labels)},
        label2id={f"class{i}": i for i in range(num_labels)},
    )
    BertForSequenceClassification(config).save_pretrained(root)
    tok.save_pretrained(root)
    return root


def make_roberta_dir(root: Path, num_labels: int = 2) -> Path:
    """A 2-layer RoBERTa classifier with a byte-level BPE tokenizer trained by the test."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast
    import torch

    root.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    corpus = ["the movie was great fun .", "the film is not very good !", "a man sleeps outside ."] * 5
    bpe.train_from_iterator(
        corpus, vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(root))
    tok = RobertaTokenizerFast(vocab=str(root / "vocab.json"), merges=str(root / "merges.txt"))
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=tok.vocab_size + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        num_labels=num_labels,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    RobertaForSequenceClassification(config).save_pretrained(root)
    tok.save_pretrained(root)
    return root


# --- a model whose output is an exactly known function of its words --------------------------
import torch as _torch
from torch import nn as _nn

from pathologies.models.native import NativeClassifier as _Native, mean_over_length as _mean

BOW_WEIGHTS = {"great": 2.0, "fun": 1.0, "bad": -2.5, "boring": -1.5, "not": -0.5, "the": 0.1, "movie": 0.0}
BOW_VOCAB = ["<pad>", "<unk>", "<sep>"] + list(BOW_WEIGHTS)
BOW_BIAS = 0.25
UNK_WEIGHT = -0.3


class BowNet(_nn.Module):
    """logit_pos - logit_neg = sum of word weights + bias; embeddings are 2-d: (weight, 1).

    The scoring direction v = (1, 0), so embedding · gradient of the positive logit is
    exactly weight / 2 per word (logits are ±s/2).
    """

    def __init__(self, vocab_size: int, n_labels: int = 2):
        super().__init__()
        self.embedding = _nn.Embedding(vocab_size, 2, padding_idx=0)
        self.v = _nn.Parameter(_torch.tensor([1.0, 0.0]))
        self.bias = _nn.Parameter(_torch.tensor(BOW_BIAS))

    def forward(self, embeds, lengths):
        T = embeds.shape[1]
        mask = (_torch.arange(T)[None, :] < lengths[:, None]).to(embeds.dtype)
        s = (embeds @ self.v * mask).sum(1) + self.bias
        return _torch.stack([-s / 2, s / 2], dim=1)

    def layers(self, embeds, lengths):
        logits = self.forward(embeds, lengths)
        pooled = _mean(embeds, lengths)
        return logits, {"embedding": pooled}, pooled


class BowClassifier(_Native):
    family = "bow"
    net_class = BowNet


def make_bow() -> BowClassifier:
    """p(positive | words) = sigmoid(sum of BOW_WEIGHTS + BOW_BIAS); unknown words weigh UNK_WEIGHT."""
    net = BowNet(len(BOW_VOCAB))
    with _torch.no_grad():
        net.embedding.weight.zero_()
        net.embedding.weight[1] = _torch.tensor([UNK_WEIGHT, 1.0])
        for i, w in enumerate(BOW_WEIGHTS, start=3):
            net.embedding.weight[i] = _torch.tensor([BOW_WEIGHTS[w], 1.0])
    return BowClassifier(net, ["negative", "positive"], BOW_VOCAB, {})


def bow_p(words) -> float:
    """The exact positive-class probability of the BoW model."""
    import math

    s = sum(BOW_WEIGHTS.get(w, UNK_WEIGHT) for w in words) + BOW_BIAS
    return 1 / (1 + math.exp(-s))


# --- a non-linear model whose labels flip under removal ------------------------------------
QUAD_WORDS = ["a", "b", "c", "d", "e", "f", "g"]
QUAD_VOCAB = ["<pad>", "<unk>", "<sep>"] + QUAD_WORDS


class QuadNet(_nn.Module):
    """s = w · n + n^T V n + bias, with n the bag-of-words count vector (one-hot embeddings).

    Interactions (V) make a word's importance depend on the other words, so re-ranking after
    a removal changes the order and removals flip the label. Logits are ±s/2.
    """

    def __init__(self, vocab_size: int, n_labels: int = 2):
        super().__init__()
        self.embedding = _nn.Embedding(vocab_size, vocab_size, padding_idx=0)
        self.w = _nn.Parameter(_torch.zeros(vocab_size))
        self.V = _nn.Parameter(_torch.zeros(vocab_size, vocab_size))
        self.bias = _nn.Parameter(_torch.tensor(0.0))

    def score(self, embeds, lengths):
        T = embeds.shape[1]
        mask = (_torch.arange(T)[None, :] < lengths[:, None]).to(embeds.dtype)
        n = (embeds * mask.unsqueeze(-1)).sum(1)
        return n @ self.w + ((n @ self.V) * n).sum(-1) + self.bias, n

    def forward(self, embeds, lengths):
        s, _ = self.score(embeds, lengths)
        return _torch.stack([-s / 2, s / 2], dim=1)

    def layers(self, embeds, lengths):
        s, n = self.score(embeds, lengths)
        pooled = _mean(embeds, lengths)
        return _torch.stack([-s / 2, s / 2], dim=1), {"counts": n}, pooled


class QuadClassifier(_Native):
    family = "quad"
    net_class = QuadNet


def make_quad(w, V, bias) -> QuadClassifier:
    """A QuadNet with word weights ``w`` (dict), symmetric interactions ``V`` (dict of pairs)."""
    net = QuadNet(len(QUAD_VOCAB))
    with _torch.no_grad():
        net.embedding.weight.copy_(_torch.eye(len(QUAD_VOCAB)))
        net.embedding.weight[0].zero_()
        for word, value in w.items():
            net.w[QUAD_VOCAB.index(word)] = value
        for (x, y), value in V.items():
            i, j = QUAD_VOCAB.index(x), QUAD_VOCAB.index(y)
            net.V[i, j] += value / 2
            net.V[j, i] += value / 2
        net.bias.fill_(bias)
    return QuadClassifier(net, ["negative", "positive"], QUAD_VOCAB, {})


def quad_p(words, w, V, bias) -> float:
    """The exact positive-class probability of ``make_quad(w, V, bias)``."""
    import math
    from collections import Counter

    n = Counter(words)
    s = bias + sum(w.get(x, 0.0) * c for x, c in n.items())
    s += sum(value * n[x] * n[y] for (x, y), value in V.items())
    return 1 / (1 + math.exp(-s))
