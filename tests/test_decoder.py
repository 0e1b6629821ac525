"""Decoder-only sequence classifiers (GPT-2, Llama, Qwen2): batched scores equal the raw model
run one input at a time, for every method; the empty input has its documented score.

The models are tiny, built here from transformers' configs with random weights and a sharpened
head (so that probabilities spread over (0, 1) and a padding position read by mistake shows),
saved to a folder and loaded with ``load_classifier``. The oracles call the HF module itself
with ``input_ids`` (one input, no padding), never the toolkit's batching.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from pathologies import Example, InputError
from pathologies.explain import explain
from pathologies.models import HFClassifier, load_classifier
from pathologies.models.hf import BatchingWarning, reads_last_token
from pathologies.reduction import reduce_inputs
from tiny_models import make_bert_dir

# A few SST-2 sentences (and words the tokenizers never saw), of mixed lengths.
CORPUS = [
    "a fine , funny film",
    "it 's a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's austere locales .",
    "dull",
    "a gorgeous , witty , seductive movie .",
    "the movie was not very good , but the cast is fine",
]
TEXTS = [
    "a fine , funny film",
    "dull",
    "it 's a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "a gorgeous , witty , seductive movie .",
    "zany",
]
PAIRS = [
    (("a", "man", "sleeps"), ("nobody", "sleeps", "outside", ".")),
    (("dull",), ("a", "fine", "film")),
    (("it", "'s", "a", "charming", "journey", "."), ("bleak",)),
]
TOL = dict(rtol=0.0, atol=2e-5)


def _byte_level_files(root: Path, specials: list[str]) -> None:
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS * 3, vocab_size=320, min_frequency=1, special_tokens=specials)
    bpe.save_model(str(root))


def _sharpen(model, scale: float = 40.0) -> None:
    with torch.no_grad():
        model.score.weight.mul_(scale)


def make_gpt2_dir(root: Path) -> Path:
    """GPT-2: byte-level BPE, no special tokens added, no pad token, no pad_token_id in the config."""
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2TokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    _byte_level_files(root, ["<|endoftext|>"])
    tok = GPT2TokenizerFast(vocab=str(root / "vocab.json"), merges=str(root / "merges.txt"))
    torch.manual_seed(1)
    config = GPT2Config(
        vocab_size=len(tok), n_positions=96, n_embd=32, n_layer=2, n_head=2, num_labels=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    model = GPT2ForSequenceClassification(config)
    _sharpen(model)
    model.save_pretrained(root)
    tok.save_pretrained(root)
    return root


def make_llama_dir(root: Path) -> Path:
    """Llama: SentencePiece-style BPE (Metaspace) that adds <s> (pairs: <s> A <s> B), no pad token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForSequenceClassification, LlamaTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    bpe.train_from_iterator(CORPUS * 3, trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<s>", "</s>"]))
    data = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in data["merges"]]
    tok = LlamaTokenizerFast(vocab=data["vocab"], merges=merges, add_bos_token=True)
    torch.manual_seed(2)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=96, num_labels=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    model = LlamaForSequenceClassification(config)
    _sharpen(model)
    model.save_pretrained(root)
    tok.save_pretrained(root)
    return root


def make_qwen2_dir(root: Path) -> Path:
    """Qwen2: byte-level BPE, no special tokens added, pad = <|endoftext|> (also in the config)."""
    from transformers import Qwen2Config, Qwen2ForSequenceClassification, Qwen2TokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    _byte_level_files(root, ["<|endoftext|>"])
    tok = Qwen2TokenizerFast(vocab=str(root / "vocab.json"), merges=str(root / "merges.txt"))
    torch.manual_seed(3)
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=96, num_labels=3,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
    )
    model = Qwen2ForSequenceClassification(config)
    _sharpen(model)
    model.save_pretrained(root)
    tok.save_pretrained(root)
    return root


BUILDERS = {"gpt2": make_gpt2_dir, "llama": make_llama_dir, "qwen2": make_qwen2_dir}
#: The documented empty input: the model's special tokens for an empty text, else one boundary token.
EMPTY_TOKENS = {"gpt2": ["<|endoftext|>"], "llama": ["<s>"], "qwen2": ["<|endoftext|>"]}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("decoders")
    return {name: build(root / name) for name, build in BUILDERS.items()}


@pytest.fixture(scope="module", params=list(BUILDERS))
def family(request, folders) -> tuple[str, HFClassifier]:
    return request.param, load_classifier(str(folders[request.param]))


# --- the oracle: the HF module itself, one input at a time ------------------------------------
def raw_ids(model: HFClassifier, ex: Example) -> list[int]:
    a, b = ex.segments()
    # a batch of one, so that an empty segment of a pair stays a segment (its special tokens kept)
    ids = model.tokenizer([list(a)], [list(b)] if b is not None else None, is_split_into_words=True)["input_ids"][0]
    return ids or model.tokenizer.convert_tokens_to_ids(EMPTY_TOKENS[model.module.config.model_type])


def raw_proba(model: HFClassifier, ex: Example) -> torch.Tensor:
    ids = torch.tensor([raw_ids(model, ex)])
    with torch.no_grad():
        return torch.softmax(model.module(input_ids=ids).logits.float(), -1)[0]


def raw_gradient(model: HFClassifier, ex: Example, target: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([raw_ids(model, ex)])
    embeds = model.module.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = model.module(inputs_embeds=embeds).logits
    (grad,) = torch.autograd.grad(logits[0, target], embeds)
    return embeds[0].detach(), grad[0]


def examples_of(texts) -> list[Example]:
    return [Example.from_text(t) for t in texts]


def pair_examples() -> list[Example]:
    out = []
    for i, (a, b) in enumerate(PAIRS):
        out.append(Example(words=a, fixed=b, fixed_first=False, uid=f"pair{i}"))
        out.append(Example(words=b, fixed=a, fixed_first=True, uid=f"pair{i}r"))
    return out


# --- which families read their last token -----------------------------------------------------
def test_decoders_are_recognised_and_padded_left(family, tmp_path):
    name, model = family
    assert reads_last_token(model.module)
    assert model.padding_side == "left" and not model.one_at_a_time
    enc = model.encode(examples_of(["a fine , funny film", "dull"]))
    assert enc.attention_mask[1, -1] == 1 and enc.attention_mask[1, 0] == 0  # the short row ends at the end


def test_encoders_stay_right_padded(tmp_path):
    bert = load_classifier(str(make_bert_dir(tmp_path / "bert")))
    assert not reads_last_token(bert.module)
    assert bert.padding_side == "right" and not bert.one_at_a_time


# --- batched == one at a time -----------------------------------------------------------------
def test_probabilities_batched_equal_raw_one_at_a_time(family):
    _, model = family
    exs = examples_of(TEXTS) + pair_examples() + [Example.from_text("dull").with_words([])]
    batched = model.predict_proba(exs)
    assert batched.shape == (len(exs), model.n_labels)
    for ex, row in zip(exs, batched):
        assert torch.allclose(row, raw_proba(model, ex), **TOL), ex
    # the sharpened head spreads the probabilities: a padding position read by mistake would show
    assert float(batched.max() - batched.min()) > 0.3


@pytest.mark.parametrize("method", ["loo", "erasure-unk", "erasure-pad"])
def test_perturbation_methods_equal_raw_one_at_a_time(family, method):
    _, model = family
    exs = examples_of(TEXTS[:4]) + pair_examples()[1:3]  # one-word inputs; pairs both ways round
    atts = explain(model, exs, method=method)
    if method == "erasure-pad" and model.tokenizer.pad_token_id == model.tokenizer.unk_token_id:
        # GPT-2, Qwen2: [PAD] and [UNK] are both <|endoftext|>, so the variants are erasure-unk's
        assert [a.scores for a in atts] == [a.scores for a in explain(model, exs, method="erasure-unk")]
        return
    for ex, att in zip(exs, atts):
        p = raw_proba(model, ex)
        assert torch.allclose(torch.tensor(att.probs), p, **TOL)
        y = att.target
        assert y == int(p.argmax())
        for i in range(len(ex.words)):
            if method == "loo":
                variant_ids = raw_ids(model, ex.without([i]))
            else:  # the word's pieces replaced by one [UNK] / [PAD] token
                token = model._sentinel_ids[{"erasure-unk": "\u2400UNK", "erasure-pad": "\u2400PAD"}[method]]
                variant_ids = _erased_ids(model, ex, i, token)
            with torch.no_grad():
                q = torch.softmax(model.module(input_ids=torch.tensor([variant_ids])).logits.float(), -1)[0]
            assert att.scores[i] == pytest.approx(float(p[y] - q[y]), abs=3e-5), (ex.words, i)


def _erased_ids(model: HFClassifier, ex: Example, i: int, token: int) -> list[int]:
    """Raw ids of ``ex`` with word i's pieces replaced by one ``token`` (via the tokenizer's word ids)."""
    a, b = ex.segments()
    enc = model.tokenizer(list(a), list(b) if b is not None else None, is_split_into_words=True)
    target_seq = 1 if (ex.fixed is not None and ex.fixed_first) else 0
    out, done = [], False
    for t, (s, w) in enumerate(zip(enc.sequence_ids(0), enc.word_ids(0))):
        if s == target_seq and w == i:
            if not done:
                out.append(token)
                done = True
            continue
        out.append(enc["input_ids"][t])
    return out


def test_gradients_batched_equal_raw_one_at_a_time(family):
    _, model = family
    exs = examples_of(TEXTS) + pair_examples()
    grads = model.embedding_gradients(exs)
    atts = explain(model, exs, method="gradient")
    for ex, g, att in zip(exs, grads, atts):
        target = int(raw_proba(model, ex).argmax())
        assert g.target == target == att.target
        embeds, grad = raw_gradient(model, ex, target)
        assert torch.allclose(g.embeddings, embeds, **TOL)
        assert torch.allclose(g.gradients, grad, rtol=1e-4, atol=1e-5)
        # word score = embedding . gradient summed over the word's pieces
        a, b = ex.segments()
        enc = model.tokenizer(list(a), list(b) if b is not None else None, is_split_into_words=True)
        target_seq = 1 if (ex.fixed is not None and ex.fixed_first) else 0
        expected = [0.0] * len(ex.words)
        dots = (embeds * grad).sum(-1)
        for t, (s, w) in enumerate(zip(enc.sequence_ids(0), enc.word_ids(0))):
            if s == target_seq and w is not None:
                expected[w] += float(dots[t])
        assert att.scores == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_integrated_gradients_batched_equal_alone(family):
    _, model = family
    exs = examples_of(TEXTS[:2]) + pair_examples()[:1]
    batched = explain(model, exs, method="integrated-gradients", n_steps=8)
    for ex, att in zip(exs, batched):
        (alone,) = explain(model, [ex], method="integrated-gradients", n_steps=8)
        assert att.scores == pytest.approx(alone.scores, rel=1e-4, abs=1e-5)



def test_zero_erasure_batched_equal_alone(family):
    _, model = family
    exs = examples_of(TEXTS[:4]) + pair_examples()[:1]
    for ex, att in zip(exs, explain(model, exs, method="erasure-zero")):
        (alone,) = explain(model, [ex], method="erasure-zero")
        assert att.scores == pytest.approx(alone.scores, abs=2e-5)


def test_removal_metrics_equal_raw_one_at_a_time(family):
    """Comprehensiveness and sufficiency (one word of a one-word input: the empty input)."""
    from pathologies.engine import ScoringEngine
    from pathologies.metrics.removal import erasure_metrics, n_for_share
    from pathologies.ranks import ranking

    _, model = family
    exs = examples_of(TEXTS[:4]) + pair_examples()[:1]
    atts = explain(model, exs, method="gradient")
    targets = [a.target for a in atts]
    rows = erasure_metrics(exs, [a.scores for a in atts], targets, ScoringEngine(model))
    for ex, att, row in zip(exs, atts, rows):
        y, order, n = att.target, ranking(att.scores), n_for_share(0.10, len(ex.words))
        p = float(raw_proba(model, ex)[y])
        assert row["comprehensiveness"] == pytest.approx(p - float(raw_proba(model, ex.without(order[:n]))[y]), abs=3e-5)
        assert row["sufficiency"] == pytest.approx(
            p - float(raw_proba(model, ex.without(order[len(ex.words) - n :]))[y]), abs=3e-5
        )

def test_representations_batched_equal_alone(family):
    _, model = family
    exs = examples_of(TEXTS) + pair_examples()[:2]
    batched = model.representations(exs)
    for i, ex in enumerate(exs):
        alone = model.representations([ex])
        assert torch.allclose(batched.sentence[i], alone.sentence[0], rtol=1e-4, atol=1e-5)
        for name, rows in batched.layers.items():
            assert torch.allclose(rows[i], alone.layers[name][0], rtol=1e-4, atol=1e-5), name
    # the sentence vector is the state the head pools: the last token's
    with torch.no_grad():
        ids = torch.tensor([raw_ids(model, exs[0])])
        last = model.module(input_ids=ids, output_hidden_states=True).hidden_states[-1][0, -1]
    assert torch.allclose(batched.sentence[0], last, rtol=1e-4, atol=1e-5)


def test_reduction_follows_the_raw_model_step_by_step(family):
    _, model = family
    exs = examples_of([TEXTS[0], TEXTS[1], TEXTS[3]]) + pair_examples()[:1]
    reds = reduce_inputs(model, exs, importance="loo")
    for ex, red in zip(exs, reds):
        y = red.predicted
        assert y == int(raw_proba(model, ex).argmax())
        for k, step in enumerate(red.path):
            state = ex.with_words(step.words)
            p = raw_proba(model, state)
            assert step.confidence == pytest.approx(float(p[y]), abs=3e-5)
            if step.removed_index is None:
                continue
            loo = [float(p[y] - raw_proba(model, state.without([i]))[y]) for i in range(len(step.words))]
            assert step.scores == pytest.approx(loo, abs=3e-5)
            assert step.removed_index == min(range(len(loo)), key=loo.__getitem__)
            assert red.path[k + 1].words == [w for i, w in enumerate(step.words) if i != step.removed_index]
        assert int(raw_proba(model, ex.with_words(red.final)).argmax()) == y


# --- the empty input ----------------------------------------------------------------------------
def test_one_word_input_loo_is_the_documented_value(family):
    name, model = family
    empty_ids = model.tokenizer.convert_tokens_to_ids(EMPTY_TOKENS[name])
    assert model.empty_input_ids() == empty_ids
    with torch.no_grad():
        q = torch.softmax(model.module(input_ids=torch.tensor([empty_ids])).logits.float(), -1)[0]
    for texts in (["dull"], ["a fine , funny film", "dull"]):  # alone (the former crash) and batched
        att = explain(model, texts, method="loo")[-1]
        p = raw_proba(model, Example.from_text("dull"))
        y = att.target
        assert att.scores == pytest.approx([float(p[y] - q[y])], abs=3e-5)
        assert att.scores[0] != 0.0
    (g,) = model.embedding_gradients([Example.from_text("dull").with_words([])])
    assert g.n_words == 0 and g.word_index.tolist() == [-1] * len(empty_ids)


def test_tokenizer_without_any_boundary_token_scores_a_zero_embedding(tmp_path):
    """No special token at all: the empty input is one position with a zero embedding."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    words = sorted({w for s in CORPUS for w in s.split()})
    wl = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=words[0]))
    wl.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=wl)
    torch.manual_seed(4)
    module = GPT2ForSequenceClassification(GPT2Config(vocab_size=len(words), n_positions=32, n_embd=16, n_layer=1, n_head=2))
    _sharpen(module)
    model = HFClassifier(module, tok)
    assert model.empty_input_ids() == []
    empty = Example.from_text("dull").with_words([])
    enc = model.encode([empty])
    assert enc.zero_mask.tolist() == [[True]] and enc.attention_mask.tolist() == [[1]]
    with torch.no_grad():
        expected = torch.softmax(module(inputs_embeds=torch.zeros(1, 1, 16)).logits, -1)[0]
    assert torch.allclose(model.predict_proba([empty, Example.from_text("a fine film")])[0], expected, **TOL)
    with pytest.raises(InputError, match="no padding token"):  # [PAD] erasure: one clear line
        explain(model, "a fine film", method="erasure-pad")


# --- no pad token -------------------------------------------------------------------------------
def test_gpt2_without_pad_token_id_batches_and_keeps_its_config(folders, tmp_path):
    model = load_classifier(str(folders["gpt2"]))
    assert model.module.config.pad_token_id is None  # nothing invented ...
    model.predict_proba(examples_of(TEXTS))  # ... and batches of several inputs run
    assert model.module.config.pad_token_id is None
    model.save(str(tmp_path / "again"))
    assert json.loads((tmp_path / "again" / "config.json").read_text()).get("pad_token_id") is None


# --- a model no padding side suits: one at a time, with one warning ------------------------------
class _ReadsBothEnds(torch.nn.Module):
    """A classifier that reads its first and its last position: right for neither padding side."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config

    def get_input_embeddings(self):
        return self.inner.get_input_embeddings()

    def forward(self, inputs_embeds=None, attention_mask=None, output_hidden_states=False, **_):
        out = self.inner.transformer(inputs_embeds=inputs_embeds, attention_mask=attention_mask, output_hidden_states=output_hidden_states)
        h = out.last_hidden_state
        logits = self.inner.score(h[:, 0] + h[:, -1])
        return type("Out", (), {"logits": logits, "hidden_states": out.hidden_states})()


def test_unbatchable_model_runs_one_at_a_time_with_a_warning(folders):
    base = load_classifier(str(folders["gpt2"]))
    with pytest.warns(BatchingWarning, match="neither left nor right padding"):
        model = HFClassifier(_ReadsBothEnds(base.module), base.tokenizer)
    assert model.one_at_a_time
    exs = examples_of(TEXTS[:3])
    batched = model.predict_proba(exs)
    grads = model.embedding_gradients(exs)
    for ex, row, g in zip(exs, batched, grads):
        assert torch.allclose(row, model.predict_proba([ex])[0], **TOL)
        (alone,) = model.embedding_gradients([ex])
        assert torch.allclose(g.gradients, alone.gradients, rtol=1e-4, atol=1e-6)


# --- the command line ---------------------------------------------------------------------------
def _cli_scores(capsys, argv) -> dict[str, float]:
    from pathologies.cli import main

    code = main(argv)
    out = capsys.readouterr().out
    assert code in (0, None), out
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(\S+)=([+-]\d+\.\d+)", out)}


def test_cli_explain_loo_gives_the_raw_numbers(folders, capsys):
    path = str(folders["gpt2"])
    model = load_classifier(path)
    text = "it 's a charming and often affecting journey ."
    scores = _cli_scores(capsys, ["explain", path, text, "--method", "loo", "--scores", "--device", "cpu"])
    ex = Example.from_text(text)
    p = raw_proba(model, ex)
    y = int(p.argmax())
    for i, word in enumerate(ex.words):
        if ex.words.count(word) == 1:
            assert scores[word] == pytest.approx(float(p[y] - raw_proba(model, ex.without([i]))[y]), abs=6e-4)
    one = _cli_scores(capsys, ["explain", path, "dull", "--method", "loo", "--scores", "--device", "cpu"])
    dull = Example.from_text("dull")
    p = raw_proba(model, dull)
    y = int(p.argmax())
    assert one["dull"] == pytest.approx(float(p[y] - raw_proba(model, dull.with_words([]))[y]), abs=6e-4)


# --- more decoder families, from their configs (no folder): the same batched == alone -----------
MORE = {
    "opt": dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2, word_embed_proj_dim=32, max_position_embeddings=64),
    "bloom": dict(hidden_size=32, n_layer=2, n_head=2),  # ALiBi: no position ids
    "gpt_neox": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=64),
    "xlnet": dict(d_model=32, n_layer=2, n_head=2, d_inner=64),  # no position limit (-1), pools the last token
}


@pytest.fixture(scope="module")
def gpt2_tokenizer(folders):
    from pathologies.models.hf import load_tokenizer

    tok = load_tokenizer(str(folders["gpt2"]))
    tok.pad_token = tok.eos_token  # as load_classifier does
    return tok


@pytest.mark.parametrize("model_type", list(MORE))
def test_more_decoder_families_batched_equal_raw(gpt2_tokenizer, model_type):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    tok = gpt2_tokenizer
    torch.manual_seed(5)
    config = AutoConfig.for_model(
        model_type, vocab_size=len(tok), num_labels=2, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=None, **MORE[model_type],
    )
    module = AutoModelForSequenceClassification.from_config(config)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith(("score", "logits_proj")):
                p.mul_(20)
    model = HFClassifier(module.eval(), tok)
    assert reads_last_token(module) and model.padding_side == "left" and not model.one_at_a_time
    exs = examples_of(TEXTS) + pair_examples()[:2] + [Example.from_text("dull").with_words([])]
    batched = model.predict_proba(exs)
    for ex, row in zip(exs, batched):
        a, b = ex.segments()
        ids = tok([list(a)], [list(b)] if b is not None else None, is_split_into_words=True)["input_ids"][0] or [tok.eos_token_id]
        with torch.no_grad():
            expected = torch.softmax(module(input_ids=torch.tensor([ids])).logits.float(), -1)[0]
        assert torch.allclose(row, expected, **TOL), ex
    assert float(batched.max() - batched.min()) > 0.3
