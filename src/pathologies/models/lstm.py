"""BiLSTM (150 units each way) over GloVe 50d; the sentence vector is both final states."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .native import NativeClassifier, mean_over_length


class BiLSTMNet(nn.Module):
    """Embedding -> bidirectional LSTM -> [forward final; backward final] -> dropout -> linear."""

    def __init__(
        self, vocab_size: int, n_labels: int, dim: int = 50, hidden: int = 150, dropout: float = 0.5
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, n_labels)

    def encode(self, embeds: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        # An empty input is read as one padding vector, so every input has a state.
        lengths = lengths.clamp(min=1).cpu()
        packed = pack_padded_sequence(embeds, lengths, batch_first=True, enforce_sorted=False)
        outputs, (h, _) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=embeds.shape[1])
        return outputs, torch.cat([h[0], h[1]], dim=1)

    def forward(self, embeds: Tensor, lengths: Tensor) -> Tensor:
        return self.out(self.dropout(self.encode(embeds, lengths)[1]))

    def layers(self, embeds: Tensor, lengths: Tensor) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        outputs, sentence = self.encode(embeds, lengths)
        n = lengths.clamp(min=1)
        layers = {
            "embedding": mean_over_length(embeds, n),
            "lstm_mean": mean_over_length(outputs, n),
            "lstm_final": sentence,
        }
        return self.out(sentence), layers, sentence


class BiLSTM(NativeClassifier):
    family = "bilstm"
    net_class = BiLSTMNet
