"""Any Hugging Face sequence classifier behind the Classifier protocol.

Words are handed to the tokenizer already split (``is_split_into_words``), so the
tokenizer's own ``word_ids`` give the word of every piece: right for WordPiece (BERT) and,
with ``add_prefix_space``, for byte-level BPE (RoBERTa, GPT-2). Special tokens and the fixed
segment of a pair map to no word.

Padding: encoders read their first token and are padded on the right; decoder-only models
(GPT-2, Llama, Qwen ...) read the state of their *last* token, which they cannot find when
called with ``inputs_embeds``, so they are padded on the left, with position ids counted from
each row's first real token. Which side a model needs is inferred from transformers' own
class facts and then checked once at load time (see :func:`choose_padding`): batched scores
must equal scores computed one input at a time, or inputs are run one at a time.

An input with no pieces left (the deletion of a one-word input's only word) is scored on
what the model sees for an empty text: its special tokens alone; a tokenizer that adds none
(GPT-2, Qwen) gets one boundary token instead (:meth:`HFClassifier.empty_input_ids`).
"""

from __future__ import annotations

import inspect
import json
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch import Tensor

from ..text import Example, InputError, is_invisible_word
from .base import PAD_WORD, UNK_WORD, ZERO_WORD, Encoded, Representations, TorchClassifier
from .files import check_hf_folder, check_safetensors, first_line, hf_weights_file

# A one-piece stand-in tokenized in place of a sentinel word, whose id is then overwritten.
_PLACEHOLDER = "a"

# Inputs of different lengths that decide the padding side at load time (any tokenizer
# turns them into some pieces; unknown words become unknown tokens or bytes).
_PROBE = ("the movie was not very good , but the cast is fine", "a film")


class BatchingWarning(UserWarning):
    """A model gives other scores in a batch than alone, so inputs are run one at a time."""


def reads_last_token(model) -> bool:
    """Whether a sequence classifier is a decoder-only model, which pools its last token.

    From transformers' class facts, not from a list of names: the model type has a causal-LM
    head but no masked-LM head in transformers' registries (GPT-2, Llama, Qwen, OPT, Bloom,
    XLNet ...), or its self-attention is causal (``is_causal``, set on decoder attention).
    Encoder-decoder models are not.
    """
    config = model.config
    if getattr(config, "is_encoder_decoder", False):
        return False
    try:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )

        kind = getattr(config, "model_type", None)
        if kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            return True
    except ImportError:  # an older transformers layout: the attention modules still tell
        pass
    return any(
        getattr(m, "is_causal", None) is True and not getattr(m, "is_cross_attention", False)
        for m in model.modules()
    )


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _is_byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and "ByteLevel" in repr(backend.pre_tokenizer)


def load_tokenizer(path_or_name: str, *, trust_remote_code: bool = False):
    """A fast tokenizer that accepts pre-split words (prefix space for byte-level BPE)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path_or_name, trust_remote_code=trust_remote_code)
    if _is_byte_level(tok) and not getattr(tok, "add_prefix_space", False):
        tok = AutoTokenizer.from_pretrained(
            path_or_name, add_prefix_space=True, trust_remote_code=trust_remote_code
        )
    if not getattr(tok, "is_fast", False):
        raise InputError(
            f"{path_or_name}: the tokenizer has no fast (Rust) version, which word alignment needs"
        )
    return tok


def check_model_path(path_or_name: str) -> None:
    """A clear error for a local path that does not exist (before any hub look-up).

    Hub names are ``name`` or ``org/name``; anything else that is not on disk is a bad path.
    """
    if Path(path_or_name).expanduser().exists():
        return
    if path_or_name.startswith((".", "/", "~")) or path_or_name.strip("/").count("/") > 1:
        raise InputError(f"model path does not exist: {path_or_name}")


class HFClassifier(TorchClassifier):
    """A ``transformers`` sequence classifier (single sentences and sentence pairs)."""

    family = "hf"

    def __init__(self, model, tokenizer, device: str = "cpu"):
        id2label = getattr(model.config, "id2label", None) or {}
        n = model.config.num_labels
        labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]
        super().__init__(model, labels, device)
        self.tokenizer = tokenizer
        self._n_special = {
            False: tokenizer.num_special_tokens_to_add(pair=False),
            True: tokenizer.num_special_tokens_to_add(pair=True),
        }
        self._sentinel_ids = {
            PAD_WORD: tokenizer.pad_token_id,
            UNK_WORD: tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id,
            ZERO_WORD: tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        }
        self._pieces = lru_cache(maxsize=200_000)(self._count_pieces)
        self._takes_positions = "position_ids" in inspect.signature(self.module.forward).parameters
        #: "left" or "right": the side batches are padded on; the class facts' guess here,
        #: confirmed (or corrected) by :func:`choose_padding` below.
        self.padding_side = "left" if reads_last_token(self.module) else "right"
        #: True when no padding side gives batched scores equal to one-at-a-time scores.
        self.one_at_a_time = False
        self.padding_side, self.one_at_a_time = choose_padding(self)

    @classmethod
    def load(
        cls,
        path_or_name: str,
        *,
        device: str = "cpu",
        trust_remote_code: bool = False,
        num_labels: int | None = None,
        labels: Sequence[str] | None = None,
    ) -> "HFClassifier":
        """Load a classifier from a directory or a hub name.

        ``num_labels``/``labels`` start a new classification head (for fine-tuning an encoder).
        Remote code runs only when ``trust_remote_code`` is set.
        """
        from transformers import AutoModelForSequenceClassification

        _quiet_transformers()
        check_model_path(path_or_name)
        kwargs: dict = {"trust_remote_code": trust_remote_code}
        if labels is not None:
            kwargs.update(
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={l: i for i, l in enumerate(labels)},
            )
        elif num_labels is not None:
            kwargs["num_labels"] = num_labels
        local = Path(path_or_name).expanduser()
        if local.exists():
            check_hf_folder(local)  # config, weights and tokenizer files, before loading anything
        try:
            model = AutoModelForSequenceClassification.from_pretrained(path_or_name, **kwargs)
        except Exception as err:
            raise _load_error(path_or_name, local, "model", err, kwargs.get("num_labels")) from None
        try:
            tokenizer = load_tokenizer(path_or_name, trust_remote_code=trust_remote_code)
        except InputError:
            raise
        except Exception as err:
            raise _load_error(path_or_name, local, "tokenizer", err) from None
        try:  # a tokenizer built from damaged files may load and fail on the first word
            tokenizer([["the", "a"]], is_split_into_words=True)
        except Exception as err:
            raise _load_error(path_or_name, local, "tokenizer", err) from None
        if len(tokenizer) <= len(set(tokenizer.all_special_tokens)):
            raise InputError(f"{path_or_name}: the tokenizer has no vocabulary beyond its special tokens; its files are damaged")
        rows = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > rows:
            raise InputError(
                f"{path_or_name}: the tokenizer has {len(tokenizer)} tokens but the model embeds only {rows}; "
                "the tokenizer files belong to another model"
            )
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:  # GPT-2 style models
            # Only the filler of padded positions (masked out) and the [PAD] erasure token;
            # the model's config is left alone (see _pad_id_set).
            tokenizer.pad_token = tokenizer.eos_token
        return cls(model, tokenizer, device=device)

    # --- sizes ------------------------------------------------------------------------
    @property
    def max_tokens(self) -> int:
        limit = self.tokenizer.model_max_length
        cfg = self.module.config
        pos = getattr(cfg, "max_position_embeddings", None)
        if isinstance(pos, int) and pos > 0:  # XLNet says -1: no limit of its own
            if cfg.model_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
                pos -= (cfg.pad_token_id or 0) + 1
            limit = min(limit, pos)
        return int(min(limit, 100_000))

    def _count_pieces(self, word: str) -> int:
        if word in self._sentinel_ids:
            return 1
        ids = self.tokenizer([word], is_split_into_words=True, add_special_tokens=False)
        return len(ids["input_ids"])

    def pieceless(self, words: Sequence[str]) -> list[int]:
        """Words of invisible characters only (the rule of every family, even where byte-level BPE
        would give them pieces), and words the tokenizer turns into no piece."""
        return [
            i for i, w in enumerate(words)
            if w not in self._sentinel_ids and (is_invisible_word(w) or self._pieces(w) == 0)
        ]

    def n_tokens(self, example: Example) -> int:
        n = sum(self._pieces(w) for w in example.words)
        if example.fixed is not None:
            n += sum(self._pieces(w) for w in example.fixed)
        return max(1, n + self._n_special[example.is_pair])  # the empty input: one stand-in

    def empty_input_ids(self) -> list[int]:
        """The tokens an input with no pieces left is scored on.

        The model's special tokens for an empty text (BERT: [CLS] [SEP]; Llama: <s>); for a
        tokenizer that adds none, one boundary token: BOS, else EOS, else PAD (GPT-2 and
        Qwen: <|endoftext|>, the token between their training documents). A tokenizer with
        none of these gives ``[]``: then one position with a zero embedding is scored.
        """
        ids = list(self.tokenizer([[]], is_split_into_words=True)["input_ids"][0])
        if ids:
            return ids
        tok = self.tokenizer
        for token_id in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id):
            if token_id is not None:
                return [int(token_id)]
        return []

    # --- encoding ---------------------------------------------------------------------
    def _tokenize(self, examples: Sequence[Example]) -> list[tuple[list[int], list[int], list[int], list[int]]]:
        """Per example: input ids, token type ids, word index, zero flags (unpadded)."""
        rows: list = [None] * len(examples)
        for pair in (False, True):
            idx = [i for i, ex in enumerate(examples) if ex.is_pair == pair]
            if not idx:
                continue
            firsts, seconds = [], []
            for i in idx:
                a, b = examples[i].segments()
                firsts.append([_PLACEHOLDER if w in self._sentinel_ids else w for w in a])
                if pair:
                    seconds.append([_PLACEHOLDER if w in self._sentinel_ids else w for w in b])
            enc = self.tokenizer(
                firsts,
                seconds if pair else None,
                is_split_into_words=True,
                truncation="longest_first",
                max_length=self.max_tokens,
            )
            for j, i in enumerate(idx):
                ex = examples[i]
                ids = list(enc["input_ids"][j])
                types = list(enc["token_type_ids"][j]) if "token_type_ids" in enc else [0] * len(ids)
                seq_ids = enc.sequence_ids(j)
                word_ids = enc.word_ids(j)
                target_seq = 1 if (pair and ex.fixed_first) else 0
                keep_ids, keep_types, widx, zeros = [], [], [], []
                previous = None
                for t, (s, w) in enumerate(zip(seq_ids, word_ids)):
                    word = None
                    if w is not None and s is not None:
                        seg = ex.words if s == target_seq else ex.fixed
                        word = seg[w]
                    if word in self._sentinel_ids:
                        if previous == (s, w):
                            continue  # a sentinel is one token, whatever the placeholder became
                        if self._sentinel_ids[word] is None:
                            raise InputError(
                                "the tokenizer has no padding token (nor an end-of-sequence token to pad "
                                "with), so erasure by [PAD] is not defined for this model; use erasure-unk or erasure-zero"
                            )
                        ids[t] = self._sentinel_ids[word]
                    previous = (s, w)
                    in_words = s == target_seq and w is not None
                    keep_ids.append(ids[t])
                    keep_types.append(types[t])
                    widx.append(w if in_words else -1)
                    zeros.append(word == ZERO_WORD)
                if not keep_ids:  # no pieces left: the documented empty input
                    stand_in = self.empty_input_ids()
                    keep_ids = stand_in or [self.tokenizer.pad_token_id or 0]
                    keep_types, widx, zeros = [0] * len(keep_ids), [-1] * len(keep_ids), [not stand_in] * len(keep_ids)
                pad_id = self._pooling_pad_id()
                if pad_id is not None:
                    # transformers pools the last token that is not the pad token; what follows
                    # it cannot change its state (causal attention), so it is not run at all
                    real = [t for t, (x, z) in enumerate(zip(keep_ids, zeros)) if x != pad_id or z]
                    n = (real[-1] if real else 0) + 1
                    keep_ids, keep_types, widx, zeros = keep_ids[:n], keep_types[:n], widx[:n], zeros[:n]
                rows[i] = (keep_ids, keep_types, widx, zeros)
        return rows

    def _pooling_pad_id(self) -> int | None:
        """The pad id a left-padded (decoder) model's pooling skips over, if its config names one."""
        if self.padding_side != "left":
            return None
        config = self.module.config
        config = config.get_text_config() if hasattr(config, "get_text_config") else config
        return getattr(config, "pad_token_id", None)

    def encode(self, examples: Sequence[Example]) -> Encoded:
        rows = self._tokenize(examples)
        T = max(len(r[0]) for r in rows)
        B = len(rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((B, T), pad, dtype=torch.long)
        types = torch.zeros((B, T), dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        widx = torch.full((B, T), -1, dtype=torch.long)
        zeros = torch.zeros((B, T), dtype=torch.bool)
        left = self.padding_side == "left"
        for b, (ids, tt, wi, zf) in enumerate(rows):
            n = len(ids)
            at = slice(T - n, T) if left else slice(0, n)
            input_ids[b, at] = torch.tensor(ids)
            types[b, at] = torch.tensor(tt)
            mask[b, at] = 1
            widx[b, at] = torch.tensor(wi)
            zeros[b, at] = torch.tensor(zf, dtype=torch.bool)
        extra = {}
        if "token_type_ids" in self.tokenizer.model_input_names:
            extra["token_type_ids"] = types.to(self.device)
        return Encoded(
            input_ids=input_ids.to(self.device),
            attention_mask=mask.to(self.device),
            word_index=widx,
            zero_mask=zeros.to(self.device),
            n_words=[len(ex.words) for ex in examples],
            extra=extra,
        )

    # --- network ----------------------------------------------------------------------
    def embed(self, enc: Encoded) -> Tensor:
        return self.module.get_input_embeddings()(enc.input_ids)

    def forward_embeddings(self, embeds: Tensor, enc: Encoded) -> Tensor:
        extra = _expand(enc.extra, embeds.shape[0])
        mask = _expand({"m": enc.attention_mask}, embeds.shape[0])["m"]
        if self.one_at_a_time and embeds.shape[0] > 1:
            return torch.cat([self._run(e, m, x).logits for e, m, x in _rows(embeds, mask, extra)])
        return self._run(embeds, mask, extra).logits

    def hidden(self, embeds: Tensor, enc: Encoded) -> tuple[Tensor, Representations]:
        if self.one_at_a_time and embeds.shape[0] > 1:
            parts = [self._hidden(e, m, x) for e, m, x in _rows(embeds, enc.attention_mask, enc.extra)]
            logits = torch.cat([p[0] for p in parts])
            layers = {k: torch.cat([p[1].layers[k] for p in parts]) for k in parts[0][1].layers}
            return logits, Representations(layers=layers, sentence=torch.cat([p[1].sentence for p in parts]))
        return self._hidden(embeds, enc.attention_mask, enc.extra)

    def _hidden(self, embeds: Tensor, attention_mask: Tensor, extra: dict[str, Tensor]) -> tuple[Tensor, Representations]:
        out = self._run(embeds, attention_mask, extra, output_hidden_states=True)
        mask = attention_mask.unsqueeze(-1).to(embeds.dtype)
        layers = {}
        for i, h in enumerate(out.hidden_states):
            name = "embeddings" if i == 0 else f"layer_{i}"
            layers[name] = (h * mask).sum(1) / mask.sum(1).clamp(min=1)
        # The sentence vector is the state the classification head reads: the last token of
        # a left-padded (decoder) batch, the first ([CLS]) otherwise.
        position = -1 if self.padding_side == "left" else 0
        return out.logits, Representations(layers=layers, sentence=out.hidden_states[-1][:, position])

    def _run(self, embeds: Tensor, attention_mask: Tensor, extra: dict[str, Tensor], **kwargs):
        """The model on input embeddings; position ids from the mask when left-padded."""
        if self.padding_side == "left" and self._takes_positions:
            kwargs["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        with _pad_id_set(self.module.config):
            return self.module(inputs_embeds=embeds, attention_mask=attention_mask, **extra, **kwargs)

    def save(self, directory: str) -> None:
        _quiet_transformers()
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.module.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        (Path(directory) / "pathologies.json").write_text(json.dumps({"family": "hf"}))


def _load_error(name: str, local: Path, what: str, err: Exception, n_labels: int | None = None) -> InputError:
    """One line saying which file of a model could not be loaded, and why."""
    if not local.exists():
        return InputError(
            f"could not load {what} {name!r}: it is not a model directory here and could not be "
            f"fetched from the hub ({first_line(err)})"
        )
    if what == "tokenizer":
        return InputError(f"{local}: the tokenizer files cannot be read ({first_line(err)}); save the tokenizer again")
    message = first_line(err)
    if "mismatched" in message or "size mismatch" in message or isinstance(err, RuntimeError) and "shape" in message:
        if n_labels is not None:
            return InputError(
                f"{hf_weights_file(local)}: the weights do not fit a model with {n_labels} labels "
                "(its classification head, or config.json, has another size)"
            )
        return InputError(
            f"{hf_weights_file(local)}: the weights do not have the shapes config.json describes"
            f"{_first_mismatch(local)} (weights and config.json of different models?)"
        )
    weights = hf_weights_file(local) or local
    if weights.suffix == ".bin" or "pickle" in type(err).__module__ or "Weights only load failed" in message:
        return InputError(f"{weights}: not a readable PyTorch checkpoint ({type(err).__name__}); the file is damaged or truncated")
    return InputError(f"{weights}: the model cannot be loaded ({type(err).__name__}: {message}); the file is damaged or not a checkpoint")


def _first_mismatch(local: Path) -> str:
    """``": NAME has shape [a, b], config.json describes [c, d]"`` for the first tensor that differs."""
    try:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification

        shapes = check_safetensors(local / "model.safetensors")
        with torch.device("meta"):
            model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(str(local)))
        for key, tensor in model.state_dict().items():
            if key in shapes and tuple(tensor.shape) != shapes[key]:
                return f": {key} has shape {list(shapes[key])}, config.json describes {list(tensor.shape)}"
    except Exception:  # only a detail of the message
        pass
    return ""


def choose_padding(model: HFClassifier) -> tuple[str, bool]:
    """(padding side, one at a time) under which batched scores equal one-at-a-time scores.

    Tries the side :func:`reads_last_token` suggests, then the other, on two probe inputs
    of different lengths; when neither reproduces the scores of each input run alone (or a
    batch of two fails), every input is run alone, with one :class:`BatchingWarning`. Never
    a silently wrong score, at worst a slower one. A model that cannot even run one input
    (no ``inputs_embeds`` support, an unknown word without an unknown token) is not probed:
    its error comes at its first use, as before.
    """
    preferred = model.padding_side
    examples = [Example.from_text(t) for t in _PROBE]
    reason = "neither left nor right padding gives the scores of each input run alone"
    with torch.inference_mode():
        for side in (preferred, "left" if preferred == "right" else "right"):
            model.padding_side = side
            try:
                alone = torch.cat([model.logits([ex]) for ex in examples])
            except Exception:
                model.padding_side = preferred
                return preferred, False
            try:
                batched = model.logits(examples)
            except Exception as err:
                reason = f"a batch of two inputs fails ({type(err).__name__}: {first_line(err)})"
                continue
            tol = 1e-4 if alone.dtype in (torch.float32, torch.float64) else 2e-2
            scale = 1.0 + float(alone.float().abs().max())
            if torch.allclose(batched.float(), alone.float(), rtol=0.0, atol=tol * scale):
                return side, False
    model.padding_side = preferred
    warnings.warn(
        f"{type(model.module).__name__}: {reason}; inputs are scored one at a time (slower, never padded)",
        BatchingWarning,
        stacklevel=3,
    )
    return preferred, True


@contextmanager
def _pad_id_set(config) -> Iterator[None]:
    """A placeholder ``pad_token_id`` for the duration of a call.

    Decoder classifiers without one (GPT-2) refuse batches of more than one input, although
    with ``inputs_embeds`` the id is never read: the last position is pooled, and left
    padding makes it the last real token. The config is restored, so nothing is saved.
    """
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    if getattr(config, "pad_token_id", 0) is not None:
        yield
        return
    config.pad_token_id = -1
    try:
        yield
    finally:
        config.pad_token_id = None


def _rows(embeds: Tensor, mask: Tensor, extra: dict[str, Tensor]) -> Iterator[tuple[Tensor, Tensor, dict[str, Tensor]]]:
    """Each row of a batch alone, cut to its real tokens."""
    for b in range(embeds.shape[0]):
        keep = mask[b].bool()
        yield embeds[b : b + 1, keep], mask[b : b + 1, keep], {k: v[b : b + 1, keep] for k, v in extra.items()}


def _expand(tensors: dict[str, Tensor], batch: int) -> dict[str, Tensor]:
    """Repeat [B, T] inputs when Captum stacks several perturbations of a batch."""
    out = {}
    for k, v in tensors.items():
        out[k] = v if v.shape[0] == batch else v.repeat(batch // v.shape[0], 1)
    return out
