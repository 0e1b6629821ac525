"""Marginalization against brute force where truncation matters: kept likelihood mass below 1
(sigma and top-n), targets other than the prediction, the adaptive estimator's closed forms
(a one-word tail is exact; systematic sampling is within 1/k of the tail mean), joint
marginalization of a group by enumerating the combinations."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from pathologies import Example, InputError
from pathologies.attribution import Marginalization, get_method, marginalize_group
from pathologies.attribution.odds import EPS
from pathologies.engine import ScoringEngine
from pathologies.models.mlm import MaskedWordModel, WordDistribution
from tiny_models import bow_p, make_bow

# Candidates by likelihood, different at each position (most likely first).
TABLES = [
    [("great", 0.4), ("bad", 0.25), ("fun", 0.15), ("boring", 0.1), ("not", 0.06), ("zzz", 0.04)],
    [("boring", 0.5), ("great", 0.3), ("the", 0.12), ("movie", 0.08)],
    [("fun", 0.35), ("not", 0.3), ("bad", 0.2), ("great", 0.1), ("qqq", 0.05)],
]


class TableLM(MaskedWordModel):
    def __init__(self, tables=TABLES):
        self.tables = tables

    def distributions(self, example, positions):
        out = []
        for pos in positions:
            table = self.tables[pos % len(self.tables)]
            out.append(WordDistribution([w for w, _ in table], torch.tensor([q for _, q in table], dtype=torch.float64)))
        return out


EX = Example(("the", "movie", "great"))  # p(positive) = sigmoid(2.35): the prediction is positive


def log2_odds(p):
    p = min(max(p, EPS), 1 - EPS)
    return math.log2(p) - math.log2(1 - p)


def p_t(words, target):
    p = bow_p(words)
    return p if target == 1 else 1 - p


def replaced(words, pos, w):
    return words[:pos] + (w,) + words[pos + 1 :]


def oracle(ex, target, keep):
    """Weight of evidence with the candidates ``keep(table)`` of each position, renormalized."""
    p = p_t(ex.words, target)
    out = []
    for pos in range(len(ex.words)):
        kept = keep(TABLES[pos % len(TABLES)])
        mass = sum(q for _, q in kept)
        p_without = sum(q * p_t(replaced(ex.words, pos, w), target) for w, q in kept) / mass
        out.append(log2_odds(p) - log2_odds(p_without))
    return out


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("sigma", [0.0, 0.1, 0.26])
def test_sigma_truncation_renormalizes_by_the_kept_mass(target, sigma):
    m = Marginalization(TableLM(), sigma=sigma)
    got = m.scores(make_bow(), [EX], [target])[0]
    keep = lambda t: [c for c in t if c[1] >= sigma] or t[:1]
    assert got == pytest.approx(oracle(EX, target, keep), abs=1e-5)
    assert m.candidates_evaluated(EX) == [len(keep(TABLES[i])) for i in range(3)]
    if sigma > 0:
        assert all(sum(q for _, q in keep(TABLES[i])) < 1 for i in range(3))  # the kept mass is below 1


@pytest.mark.parametrize("n", [1, 2, 5])
def test_top_n_renormalizes_by_the_kept_mass(n):
    got = Marginalization(TableLM(), mode="top-n", top_n=n).scores(make_bow(), [EX], [0])[0]
    assert got == pytest.approx(oracle(EX, 0, lambda t: t[:n]), abs=1e-5)


def test_max_candidates_caps_the_fixed_modes():
    m = Marginalization(TableLM(), sigma=0.0, max_candidates=2)
    assert m.scores(make_bow(), [EX], [1])[0] == pytest.approx(oracle(EX, 1, lambda t: t[:2]), abs=1e-5)
    assert m.candidates_evaluated(EX) == [2, 2, 2]


def test_explain_records_the_target_and_scores_of_several_examples():
    from pathologies.explain import explain

    exs = [EX, Example(("bad", "great", "fun", "the"))]
    atts = explain(make_bow(), exs, Marginalization(TableLM(), sigma=0.1), target=0)
    for ex, att in zip(exs, atts):
        assert att.target == 0
        assert att.scores == pytest.approx(oracle(ex, 0, lambda t: [c for c in t if c[1] >= 0.1]), abs=1e-5)


# --- the adaptive estimator -------------------------------------------------------------------
def exact_adaptive(ex, target, head):
    """Head exactly plus the tail mass times the tail's likelihood-weighted mean: the full sum."""
    return oracle(ex, target, lambda t: t)


def test_adaptive_with_a_one_word_tail_is_exact_with_zero_error():
    tables = [t[:3] for t in TABLES]  # head 2 + a one-word tail everywhere
    m = Marginalization(TableLM(tables), mode="adaptive", head=2, draws=4, max_draws=4)
    got = m.scores(make_bow(), [EX], [0])[0]
    p = p_t(EX.words, 0)
    for pos in range(3):
        t = tables[pos]
        head = sum(q * p_t(replaced(EX.words, pos, w), 0) for w, q in t[:2])
        rest = t[2][1]
        full = head + rest * p_t(replaced(EX.words, pos, t[2][0]), 0)
        assert got[pos] == pytest.approx(log2_odds(p) - log2_odds(full), abs=1e-5)
        assert m.score_errors(EX)[pos] == pytest.approx(0.0, abs=1e-12)
        lo, hi = m.score_bounds(EX)[pos]
        assert lo == pytest.approx(log2_odds(p) - log2_odds(head + rest), abs=1e-5)
        assert hi == pytest.approx(log2_odds(p) - log2_odds(head), abs=1e-5)
    assert m.candidates_evaluated(EX) == [3, 3, 3]


def test_adaptive_standard_error_of_one_draw_by_hand():
    tables = [t[:3] for t in TABLES]
    m = Marginalization(TableLM(tables), mode="adaptive", head=2, draws=1, max_draws=1)
    got = m.scores(make_bow(), [EX], [1])[0]
    for pos in range(3):
        t = tables[pos]
        est = sum(q * p_t(replaced(EX.words, pos, w), 1) for w, q in t)
        se = t[2][1] * 0.5  # one draw says nothing of the spread: sd taken as 0.5
        assert m.score_errors(EX)[pos] == pytest.approx(se / (est * (1 - est) * math.log(2)), rel=1e-5)
        assert got[pos] == pytest.approx(log2_odds(p_t(EX.words, 1)) - log2_odds(est), abs=1e-5)


@pytest.mark.parametrize("k", [3, 8, 50])
def test_systematic_tail_sample_is_within_one_over_k_of_the_tail_mean(k):
    head = 1
    m = Marginalization(TableLM(), mode="adaptive", head=head, draws=k, max_draws=k, tol=0.0)
    got = m.scores(make_bow(), [EX], [0])[0]
    for pos in range(3):
        t = TABLES[pos]
        ps = [p_t(replaced(EX.words, pos, w), 0) for w, _ in t]
        rest = sum(q for _, q in t[head:])
        exact = sum(q * p for (_, q), p in zip(t, ps))
        slack = rest * sum(abs(p - min(ps[head:])) for p in ps[head:]) / k  # |n_c - k q_c / R| < 1
        lo = log2_odds(p_t(EX.words, 0)) - log2_odds(exact + slack)
        hi = log2_odds(p_t(EX.words, 0)) - log2_odds(max(exact - slack, 1e-9))
        assert lo - 1e-6 <= got[pos] <= hi + 1e-6


def test_adaptive_draws_grow_by_the_factor_until_the_budget():
    engine = ScoringEngine(make_bow())
    seen = []
    real = engine.probabilities
    engine.probabilities = lambda variants: seen.append(len(variants)) or real(variants)
    # No tail word holds half of its tail's mass, so the first two (systematic) draws differ
    # and the standard error stays above tol = 0 until the budget is spent.
    m = Marginalization(TableLM([TABLES[0], TABLES[2]]), mode="adaptive", head=1, draws=2, growth=3, max_draws=20, tol=0.0)
    m.scores(make_bow(), [EX], [0], engine=engine)
    # Per word: head 1 + 2 draws, then 2·(3−1) = 4 more, then 6·2 = 12, capped at 20 − 6 = 14 → 12.
    assert seen == [1, 3 * (1 + 2), 3 * 4, 3 * 12, 3 * 2]


def test_documented_defaults():
    m = get_method("marginalization", mlm=TableLM())
    s = m.settings()
    assert (s["mode"], s["sigma"], s["top_n"], s["head"], s["draws"], s["tol"], s["growth"], s["max_draws"], s["seed"]) == (
        "sigma", 1e-5, 100, 32, 96, 0.05, 2, 384, 0)
    assert s["max_candidates"] is None
    assert get_method("marginalization-adaptive", mlm=TableLM()).settings()["mode"] == "adaptive"
    for bad in (dict(mode="exact"), dict(growth=1), dict(tol=-1), dict(head=-1), dict(draws=-1), dict(max_draws=-1)):
        with pytest.raises(InputError):
            Marginalization(TableLM(), **bad)


# --- joint marginalization ------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.0, 0.02, 0.05])
@pytest.mark.parametrize("target", [0, 1])
def test_group_marginalization_equals_the_enumerated_combinations(sigma, target):
    ex = Example(("the", "movie", "great", "fun"))
    positions = [0, 2]
    lm = TableLM()
    combos = []
    for (w0, q0), (w2, q2) in itertools.product(
        [c for c in TABLES[0] if c[1] >= sigma] or TABLES[0][:1], [c for c in TABLES[2] if c[1] >= sigma] or TABLES[2][:1]
    ):
        if q0 * q2 >= sigma:
            combos.append((q0 * q2, ("%s movie %s fun" % (w0, w2)).split()))
    mass = sum(q for q, _ in combos)
    p_without = sum(q * p_t(words, target) for q, words in combos) / mass
    expected = log2_odds(p_t(ex.words, target)) - log2_odds(p_without)
    got = marginalize_group(make_bow(), lm, ex, positions, target=target, sigma=sigma)
    assert got == pytest.approx(expected, abs=1e-5)
    if sigma > 0:
        assert mass < 1


def test_group_marginalization_keeps_the_most_likely_combinations_and_defaults_to_the_prediction():
    ex = Example(("the", "movie", "great", "fun"))
    got = marginalize_group(make_bow(), TableLM(), ex, [2, 0, 2], sigma=0.0, max_combinations=3)
    combos = sorted(
        ((q0 * q2, (w0, w2)) for (w0, q0), (w2, q2) in itertools.product(TABLES[0], TABLES[2])), key=lambda c: -c[0]
    )[:3]
    mass = sum(q for q, _ in combos)
    p_without = sum(q * bow_p([w0, "movie", w2, "fun"]) for q, (w0, w2) in combos) / mass
    assert got == pytest.approx(log2_odds(bow_p(ex.words)) - log2_odds(p_without), abs=1e-5)
    with pytest.raises(InputError, match="threshold"):
        marginalize_group(make_bow(), TableLM(), ex, [0, 1, 2], sigma=0.9)
    with pytest.raises(InputError, match="group positions"):
        marginalize_group(make_bow(), TableLM(), ex, [])


# --- survivors of the first marginalization run ------------------------------------------------


def test_adaptive_without_draws_renormalizes_the_head():
    """No draw budget: the estimate is eq. 4 over the head alone (renormalized by its mass)."""
    for kw in (dict(draws=0), dict(max_draws=0)):
        m = Marginalization(TableLM(), mode="adaptive", head=2, **kw)
        got = m.scores(make_bow(), [EX], [0])[0]
        assert got == pytest.approx(oracle(EX, 0, lambda t: t[:2]), abs=1e-5)
        assert m.score_errors(EX) == [0.0, 0.0, 0.0] and m.candidates_evaluated(EX) == [2, 2, 2]
        assert m.rows_spent(EX) == 1 + 6


def test_adaptive_standard_error_of_two_draws_by_hand():
    """A tail of two equally likely words and k = 2 systematic draws: each word drawn once;
    se = R · std(p1, p2) / sqrt(2) with the unbiased std, i.e. R · |p1 − p2| / 2."""
    tables = [[("great", 0.5), ("bad", 0.25), ("fun", 0.25)], [("boring", 0.6), ("not", 0.2), ("the", 0.2)]]
    m = Marginalization(TableLM(tables), mode="adaptive", head=1, draws=2, max_draws=2)
    got = m.scores(make_bow(), [EX], [1])[0]
    for pos in range(3):
        t = tables[pos % 2]
        ps = [p_t(replaced(EX.words, pos, w), 1) for w, _ in t]
        rest = t[1][1] + t[2][1]
        est = t[0][1] * ps[0] + rest * (ps[1] + ps[2]) / 2
        se = rest * abs(ps[1] - ps[2]) / 2
        assert m.score_errors(EX)[pos] == pytest.approx(se / (est * (1 - est) * math.log(2)), rel=1e-5)
        assert got[pos] == pytest.approx(log2_odds(p_t(EX.words, 1)) - log2_odds(est), abs=1e-5)
    assert m.candidates_evaluated(EX) == [3, 3, 3] and m.rows_spent(EX) == 1 + 9


def test_standard_error_in_bits_clamps_the_probability():
    from pathologies.attribution.marginalization import _bits

    for p in (1.0, 1 - EPS / 10, 0.0):
        assert _bits(p, 1e-3) == pytest.approx(1e-3 / ((1 - EPS) * EPS * math.log(2)), rel=1e-6)
    assert _bits(0.5, 0.1) == pytest.approx(0.1 / (0.25 * math.log(2)))


def test_adaptive_draws_nothing_once_max_candidates_is_spent_on_the_head():
    m = Marginalization(TableLM(), mode="adaptive", head=4, max_candidates=3)
    got = m.scores(make_bow(), [EX], [1])[0]
    assert m.candidates_evaluated(EX) == [3, 3, 3] and m.score_errors(EX) == [0.0, 0.0, 0.0]
    assert got == pytest.approx(oracle(EX, 1, lambda t: t[:3]), abs=1e-5)
    assert m.rows_spent(EX) == 10 and m.rows_spent(Example(("never", "scored"))) == 1


def test_group_marginalization_defaults_positions_and_messages():
    ex = Example(("the", "movie", "great"))
    model = make_bow()
    assert marginalize_group(model, TableLM(), ex, [0, 2]) == marginalize_group(model, TableLM(), ex, [0, 2], sigma=1e-5)
    for bad in ([3], [0, 3], [-1]):
        with pytest.raises(InputError, match=r"^group positions must be word indices of the example \(0\.\.2\)$"):
            marginalize_group(model, TableLM(), ex, bad)
    with pytest.raises(InputError, match="^no combination of candidates reaches the likelihood threshold σ$"):
        marginalize_group(model, TableLM(), ex, [0, 1, 2], sigma=0.9)
    # a candidate whose likelihood is exactly sigma is kept (TABLES[0]: "bad" at 0.25)
    got = marginalize_group(model, TableLM(), ex, [0], target=1, sigma=0.25)
    p_without = (0.4 * p_t(("great", "movie", "great"), 1) + 0.25 * p_t(("bad", "movie", "great"), 1)) / 0.65
    assert got == pytest.approx(log2_odds(p_t(ex.words, 1)) - log2_odds(p_without), abs=1e-5)


def test_group_marginalization_asks_the_lm_about_the_example():
    class ContextLM(MaskedWordModel):
        """Candidates at a position: the next word of the example (0.7) or "bad" (0.3)."""

        def distributions(self, example, positions):
            words = example.words
            return [WordDistribution([words[(p + 1) % len(words)], "bad"], torch.tensor([0.7, 0.3], dtype=torch.float64))
                    for p in positions]

    ex = Example(("fun", "not", "great"))
    got = marginalize_group(make_bow(), ContextLM(), ex, [1], target=0, sigma=0.0)
    p_without = 0.7 * p_t(("fun", "great", "great"), 0) + 0.3 * p_t(("fun", "bad", "great"), 0)
    assert got == pytest.approx(log2_odds(p_t(ex.words, 0)) - log2_odds(p_without), abs=1e-5)


def test_settings_and_what_only_the_adaptive_mode_has():
    lm = TableLM()
    lm.name = "models/tiny-mlm"
    m = Marginalization(lm, mode="top-n", top_n=2)
    assert m.settings() == {"mode": "top-n", "sigma": 1e-5, "top_n": 2, "head": 32, "draws": 96, "tol": 0.05,
                            "growth": 2, "max_draws": 384, "seed": 0, "max_candidates": None, "mlm": "models/tiny-mlm"}
    assert Marginalization(TableLM()).settings()["mlm"] == "mlm"
    m.scores(make_bow(), [EX], [1])
    assert m.score_bounds(EX) is None and m.score_errors(EX) is None  # fixed modes: exact sums
    assert m.candidates_evaluated(EX) == [2, 2, 2] and m.rows_spent(EX) == 7


def test_constructor_messages_and_the_mlm_name_recorded(monkeypatch):
    import pathologies.attribution.marginalization as mlm_module  # the name marginalization.py imported

    with pytest.raises(InputError, match="^marginalization mode must be one of sigma, top-n, adaptive, not 'exact'$"):
        Marginalization(TableLM(), mode="exact")
    with pytest.raises(InputError, match="^marginalization needs head, draws, max_draws ≥ 0, growth ≥ 2 and tol ≥ 0$"):
        Marginalization(TableLM(), growth=1)
    monkeypatch.setattr(mlm_module, "load_mlm", lambda path: TableLM())
    assert Marginalization("models/some-mlm").settings()["mlm"] == "models/some-mlm"  # a path: recorded as given

    class Duck:  # a likelihood model without a name
        distributions = TableLM.distributions
        tables = TABLES

    assert Marginalization(Duck()).settings()["mlm"] == "mlm"


def test_adaptive_stops_drawing_once_the_error_is_at_most_tol():
    """A one-word tail: every draw is the same word, the standard error is 0 = tol, so no second round."""
    engine = ScoringEngine(make_bow())
    seen = []
    real = engine.probabilities
    engine.probabilities = lambda variants: seen.append(len(variants)) or real(variants)
    tables = [t[:3] for t in TABLES]
    Marginalization(TableLM(tables), mode="adaptive", head=2, draws=2, max_draws=16, tol=0.0).scores(make_bow(), [EX], [0], engine=engine)
    assert seen == [1, 3 * (2 + 2)]
