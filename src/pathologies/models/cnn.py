"""TextCNN (Kim 2014): convolutions of windows 3, 4, 5 (150 filters each) over GloVe 50d."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .native import NativeClassifier, mean_over_length


class TextCNNNet(nn.Module):
    """Embedding -> parallel convolutions -> max over time -> dropout -> linear."""

    def __init__(
        self,
        vocab_size: int,
        n_labels: int,
        dim: int = 50,
        windows: Sequence[int] = (3, 4, 5),
        filters: int = 150,
        dropout: float = 0.5,
    ):
        super().__init__()
        self.windows = tuple(windows)
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in self.windows)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(self.windows), n_labels)

    def pooled(self, embeds: Tensor, lengths: Tensor) -> list[Tensor]:
        """Max over the windows inside each sentence, so the result never depends on padding.

        A sentence shorter than a window is padded to the window with zero vectors (the
        padding embedding) and has exactly one window position.
        """
        width = max(self.windows)
        if embeds.shape[1] < width:
            embeds = nn.functional.pad(embeds, (0, 0, 0, width - embeds.shape[1]))
        x = embeds.transpose(1, 2)
        out = []
        for w, conv in zip(self.windows, self.convs):
            h = torch.relu(conv(x))  # [B, F, T - w + 1]
            n_valid = torch.clamp(lengths - w + 1, min=1)
            pos = torch.arange(h.shape[2], device=h.device)
            h = h.masked_fill((pos[None, :] >= n_valid[:, None]).unsqueeze(1), float("-inf"))
            out.append(h.max(dim=2).values)
        return out

    def forward(self, embeds: Tensor, lengths: Tensor) -> Tensor:
        return self.out(self.dropout(torch.cat(self.pooled(embeds, lengths), dim=1)))

    def layers(self, embeds: Tensor, lengths: Tensor) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        pooled = self.pooled(embeds, lengths)
        sentence = torch.cat(pooled, dim=1)
        layers = {"embedding": mean_over_length(embeds, lengths)}
        layers.update({f"conv_{w}": p for w, p in zip(self.windows, pooled)})
        return self.out(sentence), layers, sentence


class TextCNN(NativeClassifier):
    family = "textcnn"
    net_class = TextCNNNet
