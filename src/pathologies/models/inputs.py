"""Which inputs a classifier is meant for: single sentences or sentence pairs.

A model trained by this toolkit records it at training (``"inputs": "single" | "pairs"``:
native models in ``pathologies.json``, Hugging Face models as ``pathologies_inputs`` in
``config.json``); an input of the other kind is then refused with one line, in every verb,
text or data. Where nothing was recorded:

- a native model folder saved before the field existed: both kinds are accepted with one
  warning at load (the weights cannot tell: the separator's embedding exists either way);
- a Hugging Face model from elsewhere: its config says nothing about it. Its tokenizer says
  whether pairs can be *encoded* (a template with separators, BERT's ``[SEP]``, RoBERTa's
  ``</s></s>``) but not whether the classifier was trained on them; a pair given to such a
  model is accepted with one warning per model (and one saying so when the tokenizer has no
  pair template at all, so the two segments are simply joined).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable

from ..text import Example, InputError

SINGLE, PAIRS = "single", "pairs"
KINDS = (SINGLE, PAIRS)
#: The key in ``pathologies.json`` (native) and ``config.json`` (HF, prefixed).
FIELD = "inputs"
HF_FIELD = "pathologies_inputs"


class InputKindWarning(UserWarning):
    """Whether the model was trained on pairs or single sentences cannot be known."""


def kind(example: Example) -> str:
    return PAIRS if example.is_pair else SINGLE


def kind_of(examples: Iterable[Example], what: str = "the training data") -> str:
    """``single`` or ``pairs`` for a set of examples; a mix is an InputError."""
    kinds = {kind(ex) for ex in examples}
    if len(kinds) > 1:
        raise InputError(f"{what} mixes single sentences and sentence pairs; a model is trained on one kind")
    return kinds.pop() if kinds else SINGLE


def _describe(k: str) -> str:
    return "sentence pairs" if k == PAIRS else "single sentences"


def trained_inputs(model: Any) -> str | None:
    """What the model was trained on, where it was recorded (None: not known)."""
    recorded = getattr(model, "inputs", None)
    if recorded is None:
        config = getattr(getattr(model, "module", None), "config", None)
        recorded = getattr(config, HF_FIELD, None)
    return recorded if recorded in KINDS else None


def record_inputs(model: Any, examples: Iterable[Example]) -> str:
    """Record on ``model`` the kind of ``examples`` (its training data); a model already
    trained on the other kind (fine-tuned further) is an InputError."""
    k = kind_of(examples)
    before = trained_inputs(model)
    if before is not None and before != k:
        raise InputError(f"the model was trained on {_describe(before)}; the training data has {_describe(k)}")
    if hasattr(model, "vocab"):  # a native model: saved in pathologies.json
        model.inputs = k
    else:
        config = getattr(getattr(model, "module", None), "config", None)
        if config is not None:
            setattr(config, HF_FIELD, k)
        else:
            model.inputs = k
    return k


def pair_template(model: Any) -> bool | None:
    """Whether an HF model's tokenizer has a template for pairs (separators between the
    segments); None when the model has no tokenizer."""
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        return None
    try:
        return tok.num_special_tokens_to_add(pair=True) > tok.num_special_tokens_to_add(pair=False)
    except Exception:  # noqa: BLE001 - a tokenizer without the query: say nothing
        return None


def check_input(model: Any, example: Example) -> None:
    """Refuse (one line) an input of the other kind than the model was trained on; warn once
    per model where it cannot be known and a pair is given."""
    recorded = trained_inputs(model)
    given = kind(example)
    if recorded is not None:
        if recorded != given:
            name = example.uid or repr(" ".join(example.words)[:40])
            hint = (
                "give one text (no --pair; a data file with a text column)" if recorded == SINGLE
                else "give --pair PREMISE --pair HYPOTHESIS (a data file with premise and hypothesis columns)"
            )
            raise InputError(
                f"input {name} is {'a sentence pair' if given == PAIRS else 'a single sentence'}, but the model was "
                f"trained on {_describe(recorded)}: {hint}"
            )
        return
    if given != PAIRS or getattr(model, "_pairs_warned", False) or hasattr(model, "vocab"):
        return  # native folders without the field were warned about at load
    try:
        model._pairs_warned = True
    except AttributeError:  # pragma: no cover - a model that takes no attributes
        pass
    template = pair_template(model)
    if template is False:
        msg = ("its tokenizer has no template for pairs, so the two segments are joined with no separator, and "
               "whether the model was trained on pairs cannot be known")
    else:
        msg = ("its tokenizer can encode pairs, but whether the classifier was trained on them cannot be known "
               "(its config does not say; models trained by pathologies record it)")
    warnings.warn(f"a sentence pair given to a model that does not record its inputs: {msg}", InputKindWarning, stacklevel=3)
