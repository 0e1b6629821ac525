"""Attribution methods against independent oracles on models where the formula matters.

The oracle encodes each word itself (one tokenizer call per word, special tokens added by
hand), runs the bare Hugging Face network on input embeddings and sums a word's pieces by
the spans it built: so a method that scores only the first piece, mixes up pieces and
words, reads another class than the target, or replaces a word by the wrong token fails.
Models: a tiny BERT (WordPiece: "unbelievably" = un ##believ ##ably) and a tiny RoBERTa
(byte-level BPE: most words are several pieces), both with three classes and a sharpened
head so that classes differ; targets include classes that are not the prediction.
"""

from __future__ import annotations

import math

import pytest
import torch

from pathologies import Example
from pathologies.attribution import get_method
from pathologies.attribution.odds import EPS
from pathologies.explain import explain
from pathologies.models import load_classifier
from tiny_models import make_bert_dir, make_roberta_dir

WORDS = ("the", "unbelievably", "great", "movie", "sleeps")
OTHER = ("a", "dog", "runs", "outside", "unbelievably", "not", "fun")


def sharpen(model, factor: float = 300.0):
    """Scale the classification head so the three classes get clearly different probabilities."""
    head = model.module.classifier
    layer = getattr(head, "out_proj", head)
    with torch.no_grad():
        layer.weight.mul_(factor)
    model.mark_changed()
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {
        "bert": sharpen(load_classifier(str(make_bert_dir(root / "bert", num_labels=3)))),
        "roberta": sharpen(load_classifier(str(make_roberta_dir(root / "roberta", num_labels=3)))),
    }


@pytest.fixture(params=["bert", "roberta"])
def hf(request, models):
    return models[request.param]


# --- the oracle ---------------------------------------------------------------------------
def word_pieces(model, word: str) -> list[int]:
    return model.tokenizer([word], is_split_into_words=True, add_special_tokens=False)["input_ids"]


def oracle_ids(model, words, replace: dict[int, int] | None = None) -> tuple[list[int], list[list[int]]]:
    """Token ids with special tokens and, per word, its token positions; ``replace`` maps a
    word index to the one token id standing for all its pieces."""
    tok = model.tokenizer
    ids, spans = [tok.cls_token_id], []
    for i, w in enumerate(words):
        piece_ids = [replace[i]] if replace and i in replace else word_pieces(model, w)
        spans.append(list(range(len(ids), len(ids) + len(piece_ids))))
        ids += piece_ids
    return ids + [tok.sep_token_id], spans


def run_embeds(model, embeds: torch.Tensor) -> torch.Tensor:
    return model.module(inputs_embeds=embeds[None], attention_mask=torch.ones(1, embeds.shape[0], dtype=torch.long)).logits[0]


def oracle_probs(model, words, replace=None, zero: int | None = None) -> torch.Tensor:
    ids, spans = oracle_ids(model, words, replace)
    with torch.no_grad():
        emb = model.module.get_input_embeddings()(torch.tensor(ids))
        if zero is not None:
            emb[spans[zero]] = 0.0
        return torch.softmax(run_embeds(model, emb), -1)


def oracle_token_grads(model, words, target: int, of_prob: bool = False):
    """Embeddings, gradient of the target logit (or probability) per token, word spans."""
    ids, spans = oracle_ids(model, words)
    emb = model.module.get_input_embeddings()(torch.tensor(ids)).detach().requires_grad_(True)
    out = run_embeds(model, emb)
    if of_prob:
        out = torch.softmax(out, -1)
    (grad,) = torch.autograd.grad(out[target], emb)
    return emb.detach(), grad, spans


def log2_odds(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log2(p) - math.log2(1 - p)


def classes(model, words) -> tuple[int, int]:
    """(the predicted class, the least likely class) by the oracle."""
    p = oracle_probs(model, words)
    return int(p.argmax()), int(p.argmin())


# --- gradients ----------------------------------------------------------------------------
def test_the_models_make_the_formulas_matter(hf):
    ids, spans = oracle_ids(hf, WORDS)
    assert len(spans[1]) >= 3  # "unbelievably" is several pieces in both tokenizers
    assert ids == hf.encode([Example(WORDS)]).input_ids[0].tolist()  # the oracle sees what the model sees
    p = oracle_probs(hf, WORDS)
    assert float(p.max() - p.min()) > 0.05  # classes differ: reading the wrong one shows


@pytest.mark.parametrize("which", ["predicted", "least"])
def test_gradient_variants_sum_a_words_pieces(hf, which):
    exs = [Example(WORDS), Example(OTHER)]
    targets = [classes(hf, ex.words)[0 if which == "predicted" else 1] for ex in exs]
    got = {name: get_method(name).scores(hf, exs, targets) for name in ("gradient", "gradient-abs", "gradient-l2")}
    for n, (ex, t) in enumerate(zip(exs, targets)):
        emb, grad, spans = oracle_token_grads(hf, ex.words, t)
        dot = (emb * grad).sum(-1)
        signed = [float(dot[s].sum()) for s in spans]
        l2 = [float(grad[s].flatten().norm()) for s in spans]
        assert got["gradient"][n] == pytest.approx(signed, rel=1e-4, abs=1e-6)
        assert got["gradient-abs"][n] == pytest.approx([abs(v) for v in signed], rel=1e-4, abs=1e-6)
        assert got["gradient-l2"][n] == pytest.approx(l2, rel=1e-4, abs=1e-6)
        # The pieces of the multi-piece word matter: neither the first piece alone nor the
        # sum of the pieces' magnitudes gives its score.
        j = ex.words.index("unbelievably")
        first = float(dot[spans[j][0]])
        assert abs(first - signed[j]) > 0.05 * abs(signed[j]) + 1e-7
        assert abs(float(grad[spans[j][0]].norm()) - l2[j]) > 1e-4


def test_gradient_through_explain_uses_the_named_target(hf):
    pred, least = classes(hf, WORDS)
    att = explain(hf, Example(WORDS), "gradient", target=least)[0]
    emb, grad, spans = oracle_token_grads(hf, WORDS, least)
    assert att.target == least != pred
    assert att.scores == pytest.approx([float((emb * grad).sum(-1)[s].sum()) for s in spans], rel=1e-4, abs=1e-6)
    assert att.probs == pytest.approx(oracle_probs(hf, WORDS).tolist(), abs=1e-5)


# --- leave-one-out and erasure ------------------------------------------------------------
@pytest.mark.parametrize("which", ["predicted", "least"])
def test_leave_one_out_deletes_every_piece_of_the_word(hf, which):
    exs = [Example(WORDS), Example(OTHER)]
    targets = [classes(hf, ex.words)[0 if which == "predicted" else 1] for ex in exs]
    diff = get_method("loo").scores(hf, exs, targets)
    odds = get_method("loo-log-odds").scores(hf, exs, targets)
    for n, (ex, t) in enumerate(zip(exs, targets)):
        p = float(oracle_probs(hf, ex.words)[t])
        without = [float(oracle_probs(hf, ex.words[:i] + ex.words[i + 1 :])[t]) for i in range(len(ex.words))]
        assert diff[n] == pytest.approx([p - q for q in without], abs=2e-6)
        assert odds[n] == pytest.approx([log2_odds(p) - log2_odds(q) for q in without], abs=1e-4)


@pytest.mark.parametrize("name", ["bert", "roberta"])  # roberta: the sentinel is one token on byte-level BPE too
@pytest.mark.parametrize("baseline", ["pad", "unk", "zero"])
def test_erasure_replaces_all_pieces_by_one_token(models, name, baseline):
    hf = models[name]
    ex = Example(WORDS)
    _, least = classes(hf, WORDS)
    tok = hf.tokenizer
    token = {"pad": tok.pad_token_id, "unk": tok.unk_token_id, "zero": tok.pad_token_id}[baseline]
    for t in sorted({least, classes(hf, WORDS)[0]}):
        got = get_method(f"erasure-{baseline}").scores(hf, [ex], [t])[0]
        p = float(oracle_probs(hf, WORDS)[t])
        expected = []
        for i in range(len(WORDS)):
            q = oracle_probs(hf, WORDS, replace={i: token}, zero=i if baseline == "zero" else None)
            expected.append(p - float(q[t]))
        assert got == pytest.approx(expected, abs=2e-6)


def test_the_erasure_baselines_differ_on_bert(tmp_path):
    """[PAD], [UNK] and a zero embedding are three different inputs (no baseline aliases another)."""
    bert = sharpen(load_classifier(str(make_bert_dir(tmp_path / "b", num_labels=3))))
    with torch.no_grad():  # BERT starts [PAD] at a zero embedding: give it its own
        table = bert.module.get_input_embeddings().weight
        table[bert.tokenizer.pad_token_id] = table[bert.tokenizer.unk_token_id].flip(0)
    bert.mark_changed()
    t = classes(bert, WORDS)[1]
    pad, unk, zero = (get_method(f"erasure-{b}").scores(bert, [Example(WORDS)], [t])[0] for b in ("pad", "unk", "zero"))
    assert min(abs(a - b) for a, b in zip(pad, unk)) > 1e-6
    assert min(abs(a - b) for a, b in zip(pad, zero)) > 1e-6


# --- integrated gradients and SmoothGrad ----------------------------------------------------
def oracle_integrated_gradients(model, words, target: int, steps: int = 300) -> tuple[list[float], float]:
    """Midpoint Riemann sum of IG of the target probability from the [PAD]-at-words baseline;
    also p(x) - p(baseline)."""
    ids, spans = oracle_ids(model, words)
    table = model.module.get_input_embeddings()
    x = table(torch.tensor(ids)).detach()
    base_ids = list(ids)
    for s in spans:
        for pos in s:
            base_ids[pos] = model.tokenizer.pad_token_id
    base = table(torch.tensor(base_ids)).detach()
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = (base[None] + alphas[:, None, None] * (x - base)[None]).requires_grad_(True)
    mask = torch.ones(steps, x.shape[0], dtype=torch.long)
    probs = torch.softmax(model.module(inputs_embeds=path, attention_mask=mask).logits, -1)[:, target]
    (grad,) = torch.autograd.grad(probs.sum(), path)
    attr = ((x - base) * grad.mean(0)).sum(-1)
    with torch.no_grad():
        ends = torch.softmax(model.module(inputs_embeds=torch.stack([x, base]), attention_mask=mask[:2]).logits, -1)[:, target]
    return [float(attr[s].sum()) for s in spans], float(ends[0] - ends[1])


def test_integrated_gradients_equal_a_riemann_sum_per_word(hf):
    _, least = classes(hf, WORDS)
    got = get_method("integrated-gradients", n_steps=64).scores(hf, [Example(WORDS)], [least])[0]
    expected, gap = oracle_integrated_gradients(hf, WORDS, least)
    scale = max(abs(v) for v in expected)
    assert scale > 1e-5
    assert got == pytest.approx(expected, abs=2e-3 * scale + 1e-6)
    assert sum(got) == pytest.approx(gap, abs=5e-3 * max(abs(gap), scale))  # completeness


def test_smoothgrad_with_tiny_noise_is_input_times_gradient_of_the_probability(hf):
    _, least = classes(hf, WORDS)
    got = get_method("smoothgrad", stdevs=1e-6, nt_samples=3).scores(hf, [Example(WORDS)], [least])[0]
    emb, grad, spans = oracle_token_grads(hf, WORDS, least, of_prob=True)
    expected = [float((emb * grad).sum(-1)[s].sum()) for s in spans]
    scale = max(abs(v) for v in expected)
    assert got == pytest.approx(expected, abs=1e-3 * scale)


def test_smoothgrad_is_seeded_and_its_noise_has_the_given_size(hf):
    _, least = classes(hf, WORDS)
    ex = [Example(WORDS)]
    a = get_method("smoothgrad").scores(hf, ex, [least])[0]
    assert get_method("smoothgrad").scores(hf, ex, [least])[0] == a
    assert get_method("smoothgrad", seed=1).scores(hf, ex, [least])[0] != a
    tiny = get_method("smoothgrad", stdevs=1e-9).scores(hf, ex, [least])[0]
    assert max(abs(x - y) for x, y in zip(a, tiny)) > 1e-6  # the noise is applied


# --- documented defaults --------------------------------------------------------------------
def test_methods_record_their_documented_defaults():
    assert get_method("integrated-gradients").settings() == {"n_steps": 50, "internal_batch_size": 256, "batch_size": 16}
    assert get_method("smoothgrad").settings() == {
        "nt_samples": 20, "stdevs": 0.01, "nt_samples_batch_size": 20, "batch_size": 16, "seed": 0
    }
    assert get_method("gradient").settings() == {"variant": "signed", "batch_tokens": 4096, "max_batch": 64}
    assert [get_method(n).name for n in ("gradient", "gradient-abs", "gradient-l2", "loo", "loo-log-odds")] == [
        "gradient", "gradient-abs", "gradient-l2", "loo", "loo-log-odds"
    ]
    assert [get_method(f"erasure-{b}").name for b in ("pad", "unk", "zero")] == ["erasure-pad", "erasure-unk", "erasure-zero"]


def test_many_examples_in_small_batches_keep_their_order(hf):
    """Length-sorted batching (gradients) and fixed-size batches (Captum) give each example its own scores."""
    exs = [Example(WORDS), Example(OTHER), Example(("great",)), Example(WORDS[:3])]
    pred = [classes(hf, ex.words)[0] for ex in exs]
    grads = get_method("gradient", batch_tokens=12, max_batch=2).scores(hf, exs, pred)
    ig = get_method("integrated-gradients", n_steps=8, batch_size=3, internal_batch_size=5).scores(hf, exs, pred)
    for ex, t, g, i in zip(exs, pred, grads, ig):
        assert g == pytest.approx(get_method("gradient").scores(hf, [ex], [t])[0], rel=1e-4, abs=1e-6)
        assert i == pytest.approx(get_method("integrated-gradients", n_steps=8).scores(hf, [ex], [t])[0], rel=1e-3, abs=1e-6)


# --- survivors of the first attribution run (BoW model: fast) -----------------------------------


def test_register_a_method_and_look_it_up():
    from pathologies import InputError
    from pathologies.attribution import REGISTRY, MethodInfo, check_method, register
    from pathologies.attribution.loo import LeaveOneOut

    factory = lambda **kw: LeaveOneOut(**kw)  # noqa: E731
    register("test-loo", factory, needs=("mlm",), description="a test method")
    try:
        assert REGISTRY["test-loo"] == MethodInfo("test-loo", factory, ("mlm",), "a test method")
        assert check_method("test-loo", available=["mlm"]).factory is factory
        with pytest.raises(InputError, match="^test-loo needs a masked LM"):
            check_method("test-loo")
        register("test-plain", factory)
        assert REGISTRY["test-plain"] == MethodInfo("test-plain", factory, (), "")
        assert get_method("test-plain").name == "loo"
    finally:
        REGISTRY.pop("test-loo", None)
        REGISTRY.pop("test-plain", None)


def test_gradient_run_spends_one_row_per_example_and_handles_no_examples():
    from pathologies.engine import ScoringEngine
    from tiny_models import make_bow

    model = make_bow()
    engine = ScoringEngine(model)
    method = get_method("gradient")
    result = method.run(model, [Example(("great", "fun")), Example(("bad",))], None, engine)
    assert result.rows == [1, 1] and result.errors is None and result.bounds is None
    scores, probs, targets = method.attribute(model, [], [], engine)
    assert scores == [] and targets == [] and probs.shape == (0, 2)


def test_log2_odds_clamps_both_ends_in_float64():
    from pathologies.attribution.odds import log2_odds, weight_of_evidence

    top = math.log2(1 - EPS) - math.log2(EPS)  # about 19.9 bits
    assert float(log2_odds(1.0)) == pytest.approx(top, abs=1e-9) and float(log2_odds(1.5)) == pytest.approx(top, abs=1e-9)
    assert float(log2_odds(0.0)) == pytest.approx(-top, abs=1e-9) and float(log2_odds(-0.5)) == pytest.approx(-top, abs=1e-9)
    p = torch.tensor([0.3, 1.0], dtype=torch.float32)
    out = log2_odds(p)
    assert out.dtype == torch.float64
    assert out.tolist() == pytest.approx([math.log2(float(p[0]) / (1 - float(p[0]))), top], abs=1e-9)
    assert float(weight_of_evidence(1.0, 0.0)) == pytest.approx(2 * top, abs=1e-9)


def test_erasure_default_and_message():
    from pathologies import InputError
    from pathologies.attribution.erasure import Erasure

    assert Erasure().baseline == "unk" and Erasure().name == "erasure-unk"
    with pytest.raises(InputError, match="^erasure baseline must be one of pad, unk, zero, not 'mask'$"):
        Erasure("mask")


def test_method_by_name_passes_only_the_resources_a_method_needs():
    from pathologies import InputError
    from pathologies.attribution import REGISTRY, Marginalization, method_by_name, register
    from pathologies.attribution.loo import LeaveOneOut
    from pathologies.models.mlm import MaskedWordModel

    class LM(MaskedWordModel):
        def distributions(self, example, positions):
            raise AssertionError("not called")

    lm = LM()
    m = method_by_name("marginalization", mlm=lm, index="unused", mode="top-n", top_n=3)
    assert isinstance(m, Marginalization) and m._mlm is lm and (m.mode, m.top_n) == ("top-n", 3)
    loo = method_by_name("loo-log-odds", mlm=lm, index="unused")
    assert isinstance(loo, LeaveOneOut) and loo.name == "loo-log-odds"
    with pytest.raises(InputError, match="^marginalization needs a masked LM"):
        method_by_name("marginalization", index="unused")
    seen = []
    register("test-index", lambda index, **kw: seen.append((index, kw)) or LeaveOneOut(**kw), needs=("index",))
    try:
        method_by_name("test-index", mlm=lm, index="the-index", score="log-odds")
        assert seen == [("the-index", {"score": "log-odds"})]
        with pytest.raises(InputError, match="^test-index needs a DkNN index"):
            method_by_name("test-index", mlm=lm)
    finally:
        REGISTRY.pop("test-index", None)


def test_perturbation_rows_gradient_defaults_and_messages():
    from pathologies import InputError
    from pathologies.attribution.gradient import InputGradient
    from pathologies.engine import ScoringEngine
    from tiny_models import make_bow

    model = make_bow()
    result = get_method("loo").run(model, [Example(("great", "fun")), Example(("bad",))], None, ScoringEngine(model))
    assert result.rows == [3, 2]  # the input and one deletion per word
    assert InputGradient().variant == "signed" and InputGradient().name == "gradient"
    with pytest.raises(InputError, match="^gradient variant must be one of signed, abs, l2, not 'l1'$"):
        InputGradient("l1")


def test_smoothgrad_uses_its_number_of_samples():
    from pathologies.attribution.captum_methods import SmoothGradMethod
    from tiny_models import make_bow

    model = make_bow()
    ex = [Example(("great", "bad", "fun"))]
    one = SmoothGradMethod(nt_samples=1, stdevs=2.0, nt_samples_batch_size=1).scores(model, ex, [1])
    many = SmoothGradMethod(nt_samples=8, stdevs=2.0, nt_samples_batch_size=8).scores(model, ex, [1])
    assert one[0] != pytest.approx(many[0], abs=1e-4)
