"""Masked-LM training for input marginalization: a masked-LM head on an encoder, 15% masking."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ..models.hf import _quiet_transformers, load_tokenizer
from ..models.mlm import HFMaskedLM
from ..models.pretrained import minilm_path
from ..progress import progress_bar
from ..text import InputError


def train_mlm(
    texts: Sequence[Sequence[str]],
    out_dir: str | Path,
    *,
    base: str | None = None,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 1e-4,
    max_tokens: int = 64,
    mask_prob: float = 0.15,
    seed: int = 13,
    log=print,
    log_every: int = 100,
    show_progress: bool = True,
) -> HFMaskedLM:
    """Train a masked-LM head (encoder unfrozen) on word sequences, 15% masking (BERT's 80/10/10).

    ``base``: an encoder directory (default: the offline all-MiniLM-L6-v2) or a masked LM to
    fine-tune further on a task's text (the paper's fine-tuned MLM). The vocabulary projection
    runs only at the masked positions (a sixth of the cost of projecting every token; on a CPU
    the projection onto 30k words would otherwise dominate the step).
    """
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    _quiet_transformers()
    base = base or minilm_path()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = AutoModelForMaskedLM.from_pretrained(base)
    tokenizer = load_tokenizer(base)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mask_prob)
    texts = [list(t) for t in texts if t]
    if not texts:
        raise InputError("no text to train the masked LM on")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    start = time.perf_counter()
    order: list[int] = []
    total = 0.0
    with progress_bar("masked LM", steps, show_progress) as advance:
        for step in range(1, steps + 1):
            if len(order) < batch_size:
                order += rng.sample(range(len(texts)), len(texts))
            batch, order = order[:batch_size], order[batch_size:]
            enc = tokenizer([texts[i] for i in batch], is_split_into_words=True, truncation=True, max_length=max_tokens)
            inputs = collator([{"input_ids": ids} for ids in enc["input_ids"]])
            loss = _masked_lm_loss(model, inputs["input_ids"], inputs["labels"], tokenizer.pad_token_id)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            advance(1)
            if step % log_every == 0 or step == steps:
                n = (step - 1) % log_every + 1
                log(f"step {step}/{steps}: mean masked-LM loss {total / n:.3f} ({time.perf_counter() - start:.0f} s)")
                total = 0.0
    model.eval()
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return HFMaskedLM(model, tokenizer)


def _masked_lm_loss(model, input_ids: Tensor, labels: Tensor, pad_id: int) -> Tensor:
    """Cross-entropy at the masked positions, projecting only those onto the vocabulary."""
    mask = (input_ids != pad_id).long()
    head = next((getattr(model, n) for n in ("cls", "lm_head") if getattr(model, n, None) is not None), None)
    if head is None:  # an architecture with another head: let it project every token
        return model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
    hidden = getattr(model, model.base_model_prefix)(input_ids=input_ids, attention_mask=mask).last_hidden_state
    where = labels != -100
    return torch.nn.functional.cross_entropy(head(hidden[where]), labels[where])
