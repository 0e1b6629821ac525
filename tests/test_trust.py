"""The trust card: every signal against a hand computation, verdicts at their thresholds,
check() on a bag-of-words model whose outputs are known exactly, and the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pathologies.attribution import Attribution
from pathologies.reduction import Reduction, ReductionStep
from pathologies.text import Example
from pathologies import trust
from pathologies.audit import check
from pathologies.report.trust_view import render_card
from pathologies.trust import TrustCard, kendall_tau_b, spearman, trust_card
from tiny_models import BOW_BIAS, UNK_WEIGHT, BowClassifier, BowNet, bow_p, make_bert_dir, make_bow

WORDS = ["w0", "w1", "w2", "w3", "w4"]


def att(scores, method="gradient", probs=(0.2, 0.8), words=WORDS, errors=None, target=None):
    probs = list(probs)
    target = max(range(len(probs)), key=probs.__getitem__) if target is None else target
    return Attribution(
        words=list(words), scores=list(scores), target=target, probs=probs, method=method,
        labels=["negative", "positive"], errors=errors,
    )


# --- rank statistics ---------------------------------------------------------------------------
def test_rank_statistics_match_scipy_with_ties():
    from scipy import stats

    pairs = [
        ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]),
        ([0.3, 0.3, 0.1, 0.9, -1.0, 0.3], [1, 2, 2, 5, 0, 3]),
        ([3, 1, 2], [1, 2, 3]),
    ]
    for a, b in pairs:
        assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
        assert kendall_tau_b(a, b) == pytest.approx(stats.kendalltau(a, b).statistic)
    assert spearman([1], [2]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None


# --- agreement ---------------------------------------------------------------------------------
M1 = [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    "m2, sum_d2, status",
    [
        ([5, 4, 3, 2, 1], 0, "ok"),
        ([3, 4, 5, 1, 2], 10, "ok"),  # rho 0.5
        ([2, 5, 4, 3, 1], 12, "ok"),  # rho 0.4
        ([2, 5, 3, 4, 1], 14, "ok"),  # rho 0.3 (AGREE_OK is fitted to 0: agreement no longer warns)
        ([2, 3, 5, 4, 1], 18, "ok"),  # rho 0.1
        ([1, 5, 4, 3, 2], 20, "ok"),  # rho 0.0: exactly AGREE_BAD, not below it
        ([1, 4, 5, 3, 2], 22, "bad"),  # rho -0.1
    ],
)
def test_agreement_status_at_its_thresholds(m2, sum_d2, status):
    from pathologies.trust import agreement_status

    rho = 1 - 6 * sum_d2 / (5 * (25 - 1))  # Spearman without ties, by hand
    card = trust_card({"gradient": att(M1), "loo": att(m2, "loo")})
    sig = card.signal("agreement")
    assert sig.value == pytest.approx(rho)
    assert sig.status == status
    assert sig.component == pytest.approx(min(1, max(0, rho)))
    assert card.verdict == {"ok": "trust", "warn": "caution", "bad": "do not trust"}[status]
    assert card.score == pytest.approx(min(1, max(0, rho)))  # the only component
    assert agreement_status(rho, ok=0.4) == ("bad" if rho < 0 else "warn" if rho < 0.4 else "ok")  # the former threshold


def test_agreement_disputed_words_top_k_and_opposite_signs():
    # k = ceil(0.2 * 5) = 1: w0 is gradient's top word, w2 loo's.
    card = trust_card({"gradient": att(M1), "loo": att([1, 4, 5, 3, 2], "loo")})
    disputed = card.signal("agreement").details["disputed"]
    assert sorted(d["word"] for d in disputed) == ["w0", "w2"]
    assert card.signal("agreement").details["k"] == 1
    # Opposite signs count only where both scores are >= 0.2 of their method's max |score|.
    a = att([1.0, 0.5, -0.1, 0.0, 0.3])
    b = att([1.0, -0.5, 0.5, 0.05, 0.3], "loo")
    sig = trust_card({"gradient": a, "loo": b}).signal("agreement")
    signs = [d["word"] for d in sig.details["disputed"] if d["why"].startswith("opposite")]
    assert signs == ["w1"]  # w2: |-0.1| < 0.2 * 1.0, so not a dispute
    # The judged heatmap's mean over the pairs it is in (the mean over all pairs recorded); Kendall too.
    atts = {"gradient": att(M1), "loo": att([3, 4, 5, 1, 2], "loo"), "ig": att(M1, "ig")}
    three = trust_card(atts).signal("agreement")  # gradient judged: gradient~loo 0.5, gradient~ig 1.0
    assert three.value == pytest.approx((0.5 + 1.0) / 2)
    assert three.details["mean_all"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert three.details["mean_kendall"] == pytest.approx((kendall_tau_b(M1, [3, 4, 5, 1, 2]) + 1) / 2)
    assert trust_card(atts, primary="loo").signal("agreement").value == pytest.approx(0.5)  # loo~gradient, loo~ig


def test_one_method_one_word_no_agreement():
    card = trust_card({"gradient": att(M1)})
    assert card.signal("agreement") is None
    assert card.verdict == "trust" and card.score == 0.5
    one = trust_card({"gradient": att([1.0], words=["w"]), "loo": att([0.3], "loo", words=["w"])})
    assert one.signal("agreement").status == "info"


# --- faithfulness ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "comp, suff, status",
    [(0.3, 0.05, "ok"), (0.1, 0.0, "ok"), (0.09, 0.02, "ok"), (0.2, 0.25, "bad"), (0.2, 0.2, "bad"), (0.005, 0.002, "warn")],
)
def test_faithfulness_status_and_component(comp, suff, status):
    # COMP_LOW is 0 since the planted-shortcut fit: a small comprehensiveness alone does not warn
    card = trust_card({"gradient": att(M1)}, {"gradient": {"comprehensiveness": comp, "sufficiency": suff}})
    sig = card.signal("faithfulness")
    assert sig.status == status
    assert sig.value == pytest.approx(comp - suff)
    assert sig.component == pytest.approx(min(1, max(0, (comp - suff) / (0.8 - 0.5))))
    assert sig.details["words_removed"] == 1  # ceil(0.1 * 5)
    assert "'w0'" in sig.sentence


def test_status_rules_take_other_thresholds():
    from pathologies.trust import agreement_status, faithfulness_status

    assert faithfulness_status(0.09, 0.02, comp_low=0.1) == "warn" and faithfulness_status(0.09, 0.02, comp_low=0.0) == "ok"
    assert faithfulness_status(0.2, 0.2, comp_low=0.0) == "bad" and faithfulness_status(0.005, 0.002) == "warn"
    assert [agreement_status(r, ok=0.35) for r in (-0.1, 0.0, 0.34, 0.35)] == ["bad", "warn", "warn", "ok"]


def test_faithfulness_names_a_better_method_only_when_clearly_better():
    atts = {"gradient": att(M1), "loo": att(M1, "loo")}
    f = {"gradient": {"comprehensiveness": 0.05, "sufficiency": 0.06}, "loo": {"comprehensiveness": 0.3, "sufficiency": 0.0}}
    sig = trust_card(atts, f).signal("faithfulness")
    assert sig.status == "bad" and sig.details["most_faithful"] == "loo" and "loo's heatmap is more faithful" in sig.advice
    f["gradient"]["sufficiency"] = 0.0
    ok = trust_card(atts, f).signal("faithfulness")  # an ok heatmap still names the clearly better one
    assert ok.status == "ok" and "loo's heatmap is more faithful" in ok.sentence
    f["loo"]["comprehensiveness"] = 0.09  # better by 0.04 < BETTER_BY
    assert "more faithful" not in trust_card(atts, f).signal("faithfulness").sentence
    # primary= judges another heatmap
    assert trust_card(atts, f, primary="loo").signal("faithfulness").details["method"] == "loo"


def test_magnitude_heatmaps_are_compared_by_size():
    # gradient-abs is |signed|: ranked by size it agrees perfectly with the signed heatmap,
    # ranked as a signed score against it, the strong negative word would look disputed
    signed = [2.0, -1.8, 0.1, 0.2, -1.5]
    atts = {"gradient-abs": att([abs(x) for x in signed], "gradient-abs"), "gradient": att(signed)}
    sig = trust_card(atts, scales={"gradient-abs": "magnitude", "gradient": "gradient"}).signal("agreement")
    assert sig.value == pytest.approx(1.0) and sig.status == "ok"
    assert sig.details["pairs"][0]["by"] == "size" and not sig.details["disputed"]
    naive = trust_card(atts, scales={"gradient-abs": "gradient", "gradient": "gradient"}).signal("agreement")
    assert naive.value < 0.4 and naive.details["pairs"][0]["by"] == "score"


def test_score_is_the_weighted_mean_of_the_components_present():
    from pathologies.trust import score_of

    assert score_of({}) == 0.5
    assert score_of({"agreement": 0.2, "faithfulness": 1.0}, {"agreement": 1.0, "faithfulness": 3.0}) == pytest.approx(0.8)
    assert score_of({"agreement": 0.2, "dknn": 0.6}, {"agreement": 1.0}) == pytest.approx(0.4)  # unnamed: weight 1


# --- saturation --------------------------------------------------------------------------------
def test_saturation_threshold():
    sat = (0.005, 0.995)
    atts = {"gradient": att(M1, probs=sat), "loo": att([0.049, 0.01, 0, 0, 0], "loo", probs=sat)}
    flat = trust_card(atts, primary="loo")
    sig = flat.signal("saturation")
    assert sig.status == "warn" and sig.value == pytest.approx(0.049)
    assert "loo-log-odds" in sig.advice
    assert flat.verdict == "caution"
    # judging the gradient heatmap, a flat LOO says which heatmap not to read: info, no caution
    other = trust_card(atts, primary="gradient").signal("saturation")
    assert other.status == "info" and other.value == pytest.approx(0.049) and "loo-log-odds" in other.advice
    readable = trust_card({"gradient": att(M1, probs=sat), "loo": att([0.051, 0.01, 0, 0, 0], "loo", probs=sat)})
    assert readable.signal("saturation").status == "ok"
    # p = 0.99 is not above the threshold
    assert trust_card({"loo": att([0.0] * 5, "loo", probs=(0.01, 0.99))}).signal("saturation") is None
    # no deletion method computed: info only, and the advice names what was computed
    info = trust_card({"gradient": att(M1, probs=sat), "loo-log-odds": att(M1, "loo-log-odds", probs=sat)})
    assert info.signal("saturation").status == "info"
    assert "loo-log-odds (already computed)" in info.signal("saturation").advice
    assert info.signal("saturation").component is None


# --- reduction ---------------------------------------------------------------------------------
def reduction(final, conf=0.94, random_conf=0.52, original=WORDS):
    return Reduction(
        uid=None, original=list(original), final=list(final), predicted=1, original_confidence=0.8,
        final_confidence=conf, path=[ReductionStep(list(original), 0.8, [0.0] * len(original))],
        all_minimal=[list(final)], model_calls=10, importance="gradient", beam=5, k=5,
        random_baseline={"words": ["w3"], "predicted": 0, "confidence": random_conf, "kept_prediction": False, "seed": 0},
    )


def test_reduction_overlap_with_the_heatmap():
    card = trust_card({"gradient": att(M1)}, reduction=reduction(["w0"]))
    sig = card.signal("reduction")
    assert sig.sentence.startswith("Keeps the label at 0.94 on 'w0' alone (1 of 5 words); random words of the same length keep 0.52.")
    assert sig.status == "ok" and sig.value == 1.0 and sig.component == 1.0
    assert "more confident on these words alone" in sig.sentence  # 0.94 vs 0.80 on two words or fewer
    missed = trust_card({"gradient": att(M1)}, reduction=reduction(["w3"]))
    sig = missed.signal("reduction")
    assert sig.status == "warn" and sig.component == 0.0 and missed.verdict == "caution"
    assert "'w3' ranked 4" in sig.advice
    half = trust_card({"gradient": att(M1)}, reduction=reduction(["w1", "w4"]))  # top 2 = w0, w1
    assert half.signal("reduction").value == pytest.approx(0.5)
    same = trust_card({"gradient": att(M1)}, reduction=reduction(["w0"], random_conf=0.93))
    assert same.signal("reduction").details["random_kept_prediction"] is False
    assert "as well" not in same.signal("reduction").sentence  # random removal lost the label
    kept = reduction(["w0"], random_conf=0.93)
    kept.random_baseline["kept_prediction"] = True
    assert "Random words keep the label as well" in trust_card({"gradient": att(M1)}, reduction=kept).signal("reduction").sentence


# --- DkNN --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "record, status",
    [
        ({"credibility": 0.05, "conformity": 0.9, "prediction": 1}, "bad"),
        ({"credibility": 0.6, "conformity": 0.9, "prediction": 0}, "bad"),  # the DkNN predicts another class
        ({"credibility": 0.31, "conformity": 0.9, "prediction": 1}, "ok"),  # 0.8 - 0.31 < 0.5
        ({"credibility": 0.29, "conformity": 0.9, "prediction": 1}, "warn"),  # 0.8 - 0.29 >= 0.5
        ({"credibility": None, "conformity": 0.4, "prediction": 1}, "warn"),
        ({"credibility": None, "conformity": 0.6, "prediction": 1}, "ok"),
    ],
)
def test_dknn_signal(record, status):
    card = trust_card({"gradient": att(M1)}, dknn=record)
    sig = card.signal("dknn")
    assert sig.status == status
    expected = record["credibility"] if record["credibility"] is not None else record["conformity"]
    assert sig.component == pytest.approx(expected)
    assert card.verdict == {"ok": "trust", "warn": "caution", "bad": "do not trust"}[status]


# --- noise -------------------------------------------------------------------------------------
def test_noise_z_of_the_top_two_words():
    noisy = att([1.0, 0.8, 0.1, 0.0, -0.2], "marginalization-adaptive", errors=[0.1] * 5)
    sig = trust_card({"gradient": att(M1), "marginalization-adaptive": noisy}).signal("noise")
    z = 0.2 / math.sqrt(0.02)
    assert sig.value == pytest.approx(z) and sig.status == "warn" and sig.component == pytest.approx(z / 2)
    resolved = att([1.0, 0.7, 0.1, 0.0, -0.2], "marginalization-adaptive", errors=[0.1] * 5)
    sig = trust_card({"marginalization-adaptive": resolved}).signal("noise")
    assert sig.value == pytest.approx(0.3 / math.sqrt(0.02)) and sig.status == "ok" and sig.component == 1.0
    assert trust_card({"gradient": att(M1)}).signal("noise") is None


# --- the card ----------------------------------------------------------------------------------
def test_score_is_the_weighted_mean_of_components_and_card_round_trips():
    card = trust_card(
        {"gradient": att(M1), "loo": att([3, 4, 5, 1, 2], "loo")},
        {"gradient": {"comprehensiveness": 0.3, "sufficiency": 0.0}, "loo": {"comprehensiveness": 0.28, "sufficiency": 0.0}},
        reduction(["w1", "w4"]),
        {"credibility": 0.7, "conformity": 0.8, "prediction": 1},
    )
    # agreement 0.5 (weight 0.1), faithfulness 1.0 (1.9), reduction 0.5 (1), dknn 0.7 (1)
    assert card.score == pytest.approx((0.1 * 0.5 + 1.9 * 1.0 + 0.5 + 0.7) / 4.0)
    assert card.verdict == "trust"
    back = TrustCard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert back == card
    import pathologies.report.views  # noqa: F401  (the view layer registers the records' HTML renderers)

    assert "trust" in card._repr_html_()


def test_bad_wins_over_warn_and_reasons_are_actionable():
    card = trust_card(
        {"gradient": att(M1), "loo": att(M1, "loo")},
        {"gradient": {"comprehensiveness": 0.005, "sufficiency": 0.002}},  # warn (flat)
        dknn={"credibility": 0.05, "conformity": 0.9, "prediction": 1},  # bad
    )
    assert card.verdict == "do not trust"
    assert card.reasons[0].startswith("dknn:") and card.reasons[1].startswith("faithfulness:")


def test_records_of_different_inputs_are_refused():
    with pytest.raises(ValueError):
        trust_card({"gradient": att(M1), "loo": att(M1, "loo", words=["a", "b", "c", "d", "e"])})
    with pytest.raises(ValueError):
        trust_card({})
    with pytest.raises(ValueError):
        trust_card({"gradient": att(M1)}, primary="loo")


def test_render_card_prints_every_signal():
    from rich.console import Console

    card = trust_card({"gradient": att(M1), "loo": att([1, 4, 5, 3, 2], "loo")}, reduction=reduction(["w3"]))
    console = Console(record=True, width=200)
    render_card(card, console)
    text = console.export_text()
    assert "DO NOT TRUST" in text and "agreement" in text and "reduction" in text and "→" in text


# --- check() on a model whose outputs are known exactly ----------------------------------------
def bow_with(weights: dict[str, float]) -> BowClassifier:
    vocab = ["<pad>", "<unk>", "<sep>"] + list(weights)
    net = BowNet(len(vocab))
    with torch.no_grad():
        net.embedding.weight.zero_()
        net.embedding.weight[1] = torch.tensor([UNK_WEIGHT, 1.0])
        for i, w in enumerate(weights, start=3):
            net.embedding.weight[i] = torch.tensor([weights[w], 1.0])
    return BowClassifier(net, ["negative", "positive"], vocab, {})


def test_check_on_the_bag_of_words_model_by_hand():
    model = make_bow()
    text = "the movie was great fun"
    words = text.split()
    (card,) = check(model, text, methods=("gradient", "loo"), beam=2)
    p = bow_p(words)
    assert card.confidence == pytest.approx(p, abs=1e-6) and card.predicted == 1
    # gradient = weight / 2 (positive target), LOO = p - p(without the word): the same order.
    w = {"the": 0.1, "movie": 0.0, "was": UNK_WEIGHT, "great": 2.0, "fun": 1.0}
    assert card.heatmap == pytest.approx([w[x] / 2 for x in words], abs=1e-6)
    loo = [p - bow_p(words[:i] + words[i + 1 :]) for i in range(5)]
    assert card.signal("agreement").value == pytest.approx(spearman(card.heatmap, loo))
    assert card.signal("agreement").value == pytest.approx(1.0)
    f = card.signal("faithfulness").details
    assert f["comprehensiveness"] == pytest.approx(p - bow_p(["the", "movie", "was", "fun"]), abs=1e-6)
    assert f["sufficiency"] == pytest.approx(p - bow_p(["the", "movie", "great", "fun"]), abs=1e-6)
    r = card.signal("reduction").details
    assert r["final_confidence"] == pytest.approx(bow_p(r["final"]), abs=1e-6)
    assert r["random_confidence"] == pytest.approx(bow_p(r["random_words"]), abs=1e-6)
    top = [words[i] for i in trust.ranking(card.heatmap)[: len(r["final"])]]
    assert r["heatmap_top"] == top
    assert card.verdict == "trust"


def test_check_flags_a_saturated_model():
    model = bow_with({"great": 9.0, "fun": 9.0, "the": 0.1, "movie": 0.0})
    (card,) = check(model, "the movie great fun", methods=("loo", "gradient"), beam=None)
    sat = card.signal("saturation")
    assert card.confidence > 0.9999
    assert sat.status == "warn"  # the judged heatmap (LOO) is the flat one
    s = 9 + 9 + 0.1 + BOW_BIAS
    expected = max(abs(1 / (1 + math.exp(-s)) - 1 / (1 + math.exp(-(s - x)))) for x in (9.0, 9.0, 0.1, 0.0))
    assert sat.value == pytest.approx(expected, abs=1e-6)
    assert card.signal("faithfulness").status == "warn"  # deletions move nothing
    assert card.verdict == "caution"
    assert card.signal("reduction") is None


def test_check_adds_conformity_and_credibility_with_an_index():
    from pathologies.dknn import DkNN

    model = make_bow()
    train = [Example.from_text(t, label=l) for t, l in [("great fun", 1), ("fun movie", 1), ("great", 1), ("bad boring", 0), ("bad movie", 0), ("boring", 0)]]
    cal = [Example.from_text(t, label=l) for t, l in [("great movie", 1), ("bad", 0), ("the fun", 1), ("not great", 0)]]
    dknn = DkNN(k=2).fit(model, train).calibrate(model, cal)
    (card,) = check(model, "the movie was great fun", methods=("gradient",), beam=None, index=dknn)
    assert card.methods == ["gradient", "conformity"]
    expected = dknn.predict(model, [Example.from_text("the movie was great fun")]).records()[0]
    assert card.signal("dknn").value == pytest.approx(expected["credibility"])


# --- the CLI -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return make_bert_dir(tmp_path_factory.mktemp("bert"))


def test_cli_prints_a_card_and_writes_a_run(bert_dir, tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli import app

    result = CliRunner().invoke(app, ["check", str(bert_dir), "the movie was great fun .", "--beam", "2", "--methods", "gradient,loo"])
    assert result.exit_code == 0, result.output
    assert "verdict:" in result.output and "agreement" in result.output and "reduction" in result.output
    result = CliRunner().invoke(app, ["check", str(bert_dir), "--pair", "a man sleeps .", "--pair", "nobody sleeps .", "--beam", "0", "--methods", "gradient,loo"])
    assert result.exit_code == 0, result.output
    assert "fixed: a man sleeps ." in result.output
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": l}) for t, l in [("the movie was great", 1), ("a bad film", 0), ("boring !", 0)]))
    out = tmp_path / "cards-run"
    args = ["check", str(bert_dir), "--data", str(data), "--beam", "0", "--methods", "gradient,loo", "--out", str(out), "--chunk", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    from pathologies.audit import Run

    cards = Run.load(out).trust_cards()
    assert len(cards) == 3 and "3 trust cards" in result.output
    result = CliRunner().invoke(app, args)  # resumes: nothing left to do, the same cards
    assert result.exit_code == 0, result.output
    assert [c.to_dict() for c in Run.load(out).trust_cards()] == [c.to_dict() for c in cards]
    changed = CliRunner().invoke(app, args[:-2] + ["--chunk", "3"])  # other settings: refused
    assert changed.exit_code == 2 and "spec.chunk" in changed.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["   "], "empty text"),
        (["good", "--methods", "nope"], "unknown attribution method"),
        (["good", "--methods", "conformity"], "needs a DkNN index"),
        (["good", "--beam", "-1"], "--beam"),
        ([], "give exactly one of"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(bert_dir, args, message):
    from typer.testing import CliRunner

    from pathologies.cli import app

    result = CliRunner().invoke(app, ["check", str(bert_dir), *args])
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def test_an_audit_with_the_trust_step_records_the_thresholds_and_resumes_only_under_them(tmp_path, monkeypatch):
    """The run records the thresholds its cards were judged by; other thresholds are another run."""
    from pathologies.audit import AuditSpec, RunMismatch, audit

    model = make_bow()
    spec = lambda: AuditSpec(methods=["gradient", "loo"], metrics=[], reduce=None, trust=True, curves=False, show=0)  # noqa: E731
    run = audit(model, ["the movie was great fun", "bad"], tmp_path / "run", spec=spec(), show_progress=False)
    assert run.manifest["trust_thresholds"] == trust.thresholds() and run.manifest["trust_thresholds"]["AGREE_OK"] == 0.0
    plain = audit(model, ["bad"], None, spec=AuditSpec(methods=["gradient"], metrics=[], reduce=None), show_progress=False)
    assert plain.manifest["trust_thresholds"] is None
    monkeypatch.setattr(trust, "AGREE_OK", 0.5)
    with pytest.raises(RunMismatch, match="trust_thresholds.AGREE_OK: 0.0 in the run, 0.5 now"):
        audit(model, ["the movie was great fun", "bad"], tmp_path / "run", spec=spec(), show_progress=False)


def test_disagreeing_with_a_less_faithful_heatmap_is_no_evidence_against_it():
    # LOO's heatmap is right and faithful; the gradient disagrees and its top words matter little
    atts = {"loo": att([5, 4, 3, 2, 1], "loo"), "gradient": att([1, 2, 3, 4, 5])}
    faithful = {"loo": {"comprehensiveness": 0.6, "sufficiency": 0.0}, "gradient": {"comprehensiveness": 0.0, "sufficiency": 0.5}}
    sig = trust_card(atts, faithful, primary="loo").signal("agreement")
    assert sig.status == "info" and sig.component is None and sig.details["less_faithful"] == ["gradient"]
    assert trust_card(atts, faithful, primary="loo").verdict == "trust"
    # judged the other way round, the disagreement counts: LOO is not less faithful than the gradient
    other = trust_card(atts, faithful, primary="gradient")
    assert other.signal("agreement").status == "bad" and other.verdict == "do not trust"
    # within BETTER_BY of the judged heatmap, a comparator still counts
    close = {"loo": {"comprehensiveness": 0.6, "sufficiency": 0.0}, "gradient": {"comprehensiveness": 0.57, "sufficiency": 0.0}}
    assert trust_card(atts, close, primary="loo").signal("agreement").status == "bad"
