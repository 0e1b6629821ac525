"""Input marginalization against brute force, and its limiting cases."""

from __future__ import annotations

import math

import pytest
import torch

from pathologies import Example, InputError
from pathologies.attribution import Marginalization, marginalize_group
from pathologies.attribution.odds import EPS, weight_of_evidence
from pathologies.explain import explain
from pathologies.models import load_classifier
from pathologies.models.mlm import HFMaskedLM, MaskedWordModel, PriorLM, UniformLM, WordDistribution
from tiny_models import WORDS, bow_p, make_bert_dir, make_bow

CANDIDATES = ["great", "fun", "bad", "boring", "not", "the", "movie", "zzz"]


class FakeLM(MaskedWordModel):
    """A context-dependent distribution over a tiny vocabulary (depends on the position)."""

    def __init__(self, words=CANDIDATES, all_on_original=False):
        self.words = list(words)
        self.all_on_original = all_on_original

    def distributions(self, example, positions):
        out = []
        for pos in positions:
            if self.all_on_original:
                words = [example.words[pos]] + [w for w in self.words if w != example.words[pos]]
                probs = torch.tensor([1.0] + [0.0] * (len(words) - 1), dtype=torch.float64)
            else:
                raw = torch.tensor([1.0 + ((pos + 3) * (j + 1)) % 5 for j in range(len(self.words))], dtype=torch.float64)
                probs, order = torch.sort(raw / raw.sum(), descending=True)
                words = [self.words[j] for j in order.tolist()]
            out.append(WordDistribution(words, probs))
        return out


def brute_force(model_p, example, pos, dist, target_positive=True):
    total = 0.0
    for w, q in zip(dist.words, dist.probs.tolist()):
        words = list(example.words)
        words[pos] = w
        p = model_p(words)
        total += q * (p if target_positive else 1 - p)
    return total


def log2_odds(p):
    p = min(max(p, EPS), 1 - EPS)
    return math.log2(p) - math.log2(1 - p)


def test_sigma_zero_equals_brute_force_on_the_bow_model():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "great", "fun"))
    att = explain(model, ex, Marginalization(lm, sigma=0.0), target=1)[0]
    dists = lm.distributions(ex, range(5))
    p = bow_p(ex.words)
    for i, d in enumerate(dists):
        expected = log2_odds(p) - log2_odds(brute_force(bow_p, ex, i, d))
        assert att.scores[i] == pytest.approx(expected, abs=1e-5)  # float32 model outputs


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory):
    from transformers import BertConfig, BertForMaskedLM

    from pathologies.models.hf import load_tokenizer

    root = make_bert_dir(tmp_path_factory.mktemp("mlm"))
    tok = load_tokenizer(str(root))
    torch.manual_seed(1)
    mlm = BertForMaskedLM(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64))
    return HFMaskedLM(mlm, tok), load_classifier(str(root))


def test_sigma_zero_equals_full_vocabulary_marginalization_with_a_real_masked_lm(tiny_mlm):
    mlm, clf = tiny_mlm
    ex = Example.from_text("the movie was great fun")
    att = explain(clf, ex, Marginalization(mlm, sigma=0.0))[0]
    t = att.target
    # Whole-word candidates: no "##" pieces, no special tokens.
    assert all(not w.startswith("##") and not w.startswith("[") for w in mlm.words)
    assert len(mlm.words) == len(WORDS) - 3  # ##believ ##ably ##able are continuation pieces
    for i, d in enumerate(mlm.distributions(ex, range(len(ex.words)))):
        rows = [ex.with_words(ex.words[:i] + (w,) + ex.words[i + 1 :]) for w in d.words]
        probs = clf.predict_proba(rows)[:, t].double()
        p_without = float((probs * d.probs).sum())
        expected = float(weight_of_evidence(att.probs[t], p_without))
        assert att.scores[i] == pytest.approx(expected, abs=1e-4)


def test_all_mass_on_the_original_word_scores_zero():
    att = explain(make_bow(), Example(("the", "movie", "was", "great")), Marginalization(FakeLM(all_on_original=True)))[0]
    assert att.scores == pytest.approx([0.0] * 4, abs=1e-9)


def test_candidates_that_change_nothing_score_zero():
    # Unknown words all weigh the same in the BoW model: swapping one for another changes nothing.
    lm = FakeLM(words=["qqq", "rrr", "sss"])
    att = explain(make_bow(), Example(("great", "zzz")), Marginalization(lm, sigma=0.0), target=1)[0]
    assert att.scores[1] == pytest.approx(0.0, abs=1e-9)
    assert att.scores[0] > 0


def test_weight_of_evidence_is_finite_at_zero_and_one():
    w = float(weight_of_evidence(1.0, 0.0))
    assert math.isfinite(w) and w == pytest.approx(2 * math.log2((1 - EPS) / EPS))
    assert math.isfinite(float(weight_of_evidence(0.0, 1.0)))


def test_top_n_and_sigma_truncation_evaluate_fewer_candidates():
    lm = FakeLM()
    ex = Example(("the", "movie", "was", "great"))
    top = Marginalization(lm, mode="top-n", top_n=3)
    explain(make_bow(), ex, top)
    assert top.candidates_evaluated(ex) == [3, 3, 3, 3]
    sig = Marginalization(lm, sigma=0.13)
    explain(make_bow(), ex, sig)
    for i, d in enumerate(lm.distributions(ex, range(4))):
        # At least the most likely candidate is always kept.
        assert sig.candidates_evaluated(ex)[i] == max(1, int((d.probs >= 0.13).sum()))


def test_adaptive_mode_bounds_contain_the_exact_score():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "not", "great", "fun"))
    exact = explain(model, ex, Marginalization(lm, sigma=0.0))[0]
    adaptive = Marginalization(lm, mode="adaptive", head=2, draws=2, max_draws=4, tol=0.0)
    att = explain(model, ex, adaptive)[0]
    assert att.bounds is not None and att.errors is not None
    for s, (lo, hi) in zip(exact.scores, att.bounds):
        assert lo - 1e-9 <= s <= hi + 1e-9
    assert all(e >= 0 for e in att.errors)
    assert sum(adaptive.candidates_evaluated(ex)) < len(CANDIDATES) * len(ex.words)


def test_adaptive_mode_is_exact_when_the_head_covers_the_vocabulary():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "not", "great", "fun"))
    exact = explain(model, ex, Marginalization(lm, sigma=0.0))[0]
    att = explain(model, ex, Marginalization(lm, mode="adaptive", head=len(CANDIDATES)))[0]
    assert att.scores == pytest.approx(exact.scores, abs=1e-9)
    assert att.errors == [0.0] * len(ex.words)


def test_adaptive_sample_estimates_the_full_marginalization():
    """Head + a likelihood-proportional sample of the tail: unbiased, so a big sample is close."""
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "not", "great", "fun"))
    exact = explain(model, ex, Marginalization(lm, sigma=0.0))[0]
    big = explain(model, ex, Marginalization(lm, mode="adaptive", head=1, draws=2000, max_draws=2000))[0]
    assert big.scores == pytest.approx(exact.scores, abs=0.02)
    # Smaller samples: wrong by at most a few standard errors, and reproducible by seed.
    small = Marginalization(lm, mode="adaptive", head=1, draws=3, max_draws=3, seed=5)
    a = explain(model, ex, small)[0]
    assert explain(model, ex, Marginalization(lm, mode="adaptive", head=1, draws=3, max_draws=3, seed=5))[0].scores == a.scores
    for s, e, (lo, hi) in zip(exact.scores, a.errors, a.bounds):
        assert lo - 1e-9 <= s <= hi + 1e-9


def test_adaptive_mode_draws_more_only_where_the_error_is_above_tol():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "not", "great", "fun"))
    loose = Marginalization(lm, mode="adaptive", head=1, draws=2, max_draws=64, tol=100.0)
    tight = Marginalization(lm, mode="adaptive", head=1, draws=2, max_draws=64, tol=0.0)
    explain(model, ex, loose), explain(model, ex, tight)
    assert sum(loose.candidates_evaluated(ex)) < sum(tight.candidates_evaluated(ex))
    assert all(n <= len(CANDIDATES) for n in tight.candidates_evaluated(ex))


def test_adaptive_mode_respects_max_candidates():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "not", "great", "fun"))
    capped = Marginalization(lm, mode="adaptive", tol=0.0, head=2, draws=4, max_candidates=3)
    att = explain(model, ex, capped)[0]
    assert all(n <= 3 for n in capped.candidates_evaluated(ex))
    assert all(lo <= s <= hi for s, (lo, hi) in zip(att.scores, att.bounds))


def test_joint_marginalization_of_one_word_equals_the_single_word_score():
    model, lm = make_bow(), FakeLM()
    ex = Example(("the", "movie", "was", "great"))
    single = explain(model, ex, Marginalization(lm, sigma=0.0))[0]
    assert marginalize_group(model, lm, ex, [3], target=single.target, sigma=0.0) == pytest.approx(single.scores[3], abs=1e-6)
    both = marginalize_group(model, lm, ex, [0, 3], target=single.target, sigma=0.0)
    assert math.isfinite(both)
    with pytest.raises(InputError, match="group positions"):
        marginalize_group(model, lm, ex, [7])


def test_likelihood_baselines():
    u = UniformLM(["a", "b", "c", "a"])
    d = u.distributions(Example(("x",)), [0])[0]
    assert d.words == ["a", "b", "c"] and float(d.probs.sum()) == pytest.approx(1.0)
    prior = PriorLM([["the", "movie"], ["The", "end"]])
    d = prior.distributions(Example(("x",)), [0])[0]
    assert d.words[0] == "the" and float(d.probs[0]) == pytest.approx(0.5)


def test_marginalization_needs_a_masked_lm():
    with pytest.raises(InputError, match="needs a masked LM"):
        explain(make_bow(), "great", "marginalization")


def test_masked_lm_training_loss_is_the_usual_loss_and_training_saves_a_loadable_model(tiny_mlm, tmp_path):
    from pathologies.models.mlm import load_mlm
    from pathologies.training.mlm import _masked_lm_loss, train_mlm

    mlm, _ = tiny_mlm
    tok = mlm.tokenizer
    ids = tok([["the", "movie", "was", "great"], ["bad", "film"]], is_split_into_words=True, padding=True, return_tensors="pt")["input_ids"]
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 1] = ids[0, 2], ids[1, 1]
    mlm.model.eval()
    with torch.no_grad():
        full = mlm.model(input_ids=ids, attention_mask=(ids != tok.pad_token_id).long(), labels=labels).loss
        ours = _masked_lm_loss(mlm.model, ids, labels, tok.pad_token_id)
    assert float(ours) == pytest.approx(float(full), rel=1e-5)
    mlm.model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    texts = [["the", "movie", "was", "great"], ["bad", "film"], ["great", "fun"]] * 4
    logs = []
    train_mlm(texts, tmp_path / "out", base=str(tmp_path / "base"), steps=4, batch_size=4, log=logs.append, log_every=2, show_progress=False)
    assert [line.split(":")[0] for line in logs] == ["step 2/4", "step 4/4"]
    again = load_mlm(str(tmp_path / "out"))
    assert again.distributions(Example(("the", "movie")), [1])[0].probs.sum() == pytest.approx(1.0)


def test_cli_explain_passes_method_settings_and_prints_standard_errors(tiny_mlm, tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli import app

    mlm, clf = tiny_mlm
    mlm.model.save_pretrained(tmp_path / "mlm")
    mlm.tokenizer.save_pretrained(tmp_path / "mlm")
    clf_dir = tmp_path / "clf"
    clf.module.save_pretrained(clf_dir)
    clf.tokenizer.save_pretrained(clf_dir)
    args = ["explain", str(clf_dir), "the movie was great fun", "--method", "marginalization",
            "--mlm", str(tmp_path / "mlm"), "--scores"]
    result = CliRunner().invoke(app, args + ["--set", "mode=adaptive", "--set", "head=1", "--set", "draws=3"])
    assert result.exit_code == 0, result.output
    assert "±" in result.output
    result = CliRunner().invoke(app, args + ["--set", "head"])
    assert result.exit_code != 0 and "KEY=VALUE" in result.output
    result = CliRunner().invoke(app, args + ["--set", "colour=red"])
    assert result.exit_code != 0 and "bad setting" in result.output
