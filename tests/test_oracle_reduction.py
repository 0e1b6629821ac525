"""Input reduction against a brute-force greedy search on a model whose labels do flip.

The model (``tiny_models.make_quad``) scores a bag of words with pairwise interactions, so
a word's importance depends on the other words and many removals flip the label; every
probability is known in closed form (``quad_p``). The oracle re-implements the paper's
greedy search from those closed forms: rank by leave-one-out (or by the analytic gradient),
try the least important word, keep the removal only if the label holds.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest

from pathologies import Example
from pathologies.reduction import InputReducer, Reduction, reduce_inputs, summarize
from tiny_models import QUAD_WORDS, make_quad, quad_p

# Found by a seeded search: greedy gets stuck at four words, beam search reaches one word.
W = {"a": -1.6, "b": 1.9, "c": 0.5, "d": 1.6, "e": 1.6, "f": -0.7, "g": 0.2}
V = {("a", "f"): -1.1, ("b", "c"): -2.6, ("b", "d"): -1.3, ("b", "e"): -2.5, ("d", "e"): -0.4, ("d", "g"): -2.3}
BIAS = 0.35
SENTENCE = ("d", "b", "c", "a", "f", "g", "e")


def p_of(words, w=W, v=V, bias=BIAS) -> float:
    return quad_p(list(words), w, v, bias)


def p_target(words, target, **kw) -> float:
    p = p_of(words, **kw)
    return p if target == 1 else 1 - p


def label(words, **kw) -> int:
    return int(p_of(words, **kw) > 0.5)


def loo_scores(words, target, **kw) -> list[float]:
    full = p_target(words, target, **kw)
    return [full - p_target(words[:i] + words[i + 1 :], target, **kw) for i in range(len(words))]


def gradient_scores(words, target, w=W, v=V, bias=BIAS) -> list[float]:
    """embedding · d logit_target / d embedding for one-hot embeddings: ±(w_x + 2 (V n)_x) / 2."""
    from collections import Counter

    n = Counter(words)
    sign = 1 if target == 1 else -1
    out = []
    for x in words:
        ds = w.get(x, 0.0) + sum(val * (n[b] if a == x else 0) + val * (n[a] if b == x else 0) for (a, b), val in v.items())
        out.append(sign * ds / 2)
    return out


def oracle_greedy(words, scorer=loo_scores, threshold=None, max_steps=None, min_words=1, **kw):
    """The paper's greedy input reduction, from closed forms: (removed words, final words)."""
    words = tuple(words)
    target = label(words, **kw)
    removed = []
    while len(words) > max(1, min_words) and (max_steps is None or len(removed) < max_steps):
        sc = scorer(words, target, **kw)
        i = min(range(len(words)), key=lambda j: (sc[j], j))
        nxt = words[:i] + words[i + 1 :]
        if label(nxt, **kw) != target or (threshold is not None and p_target(nxt, target, **kw) < threshold):
            break
        removed.append(words[i])
        words = nxt
    return removed, list(words)


def smallest_reachable(words, **kw) -> int:
    """Brute force: the fewest words reachable by label-preserving one-word removals."""
    target = label(words, **kw)
    frontier, best = {tuple(words)}, len(words)
    while frontier:
        nxt = set()
        for ws in frontier:
            best = min(best, len(ws))
            for i in range(len(ws)):
                sub = ws[:i] + ws[i + 1 :]
                if sub and label(sub, **kw) == target:
                    nxt.add(sub)
        frontier = nxt
    return best


@pytest.fixture(scope="module")
def quad():
    return make_quad(W, V, BIAS)


def test_the_model_flips_labels_and_has_no_near_ties():
    probs = [p_of(s) for r in range(len(SENTENCE) + 1) for s in itertools.combinations(SENTENCE, r)]
    assert min(abs(p - 0.5) for p in probs) > 0.01  # float32 cannot turn a label around
    assert label(SENTENCE) == 0  # the target is class 0, not the last class
    removed, final = oracle_greedy(SENTENCE)
    assert len(final) == 4 and all(label(tuple(final[:i] + final[i + 1 :])) == 1 for i in range(4))


@pytest.mark.parametrize("importance, scorer", [("loo", loo_scores), ("gradient", gradient_scores)])
def test_greedy_equals_the_brute_force_greedy(quad, importance, scorer):
    r = reduce_inputs(quad, Example(SENTENCE), importance=importance)[0]
    removed, final = oracle_greedy(SENTENCE, scorer)
    assert r.predicted == 0
    assert [s.removed for s in r.path[:-1]] == removed
    assert r.final == final and len(final) == 4  # stuck: the next removal would flip the label
    assert r.all_minimal == [final]
    words = list(SENTENCE)
    for step in r.path:  # every state: its words, the confidence and the ranking it used
        assert step.words == words
        assert step.confidence == pytest.approx(p_target(words, 0), abs=1e-6)
        assert step.scores == pytest.approx(scorer(tuple(words), 0), abs=1e-5)
        if step.removed is not None:
            assert words[step.removed_index] == step.removed
            words = words[: step.removed_index] + words[step.removed_index + 1 :]
    assert r.original_confidence == pytest.approx(p_target(SENTENCE, 0), abs=1e-6)
    assert r.final_confidence == pytest.approx(p_target(final, 0), abs=1e-6)


@pytest.mark.parametrize("importance", ["loo", "gradient"])
def test_beam_reaches_the_brute_force_minimum_where_greedy_is_stuck(quad, importance):
    greedy = reduce_inputs(quad, Example(SENTENCE), importance=importance)[0]
    beam = reduce_inputs(quad, Example(SENTENCE), beam=5, k=5, importance=importance)[0]
    assert len(beam.final) == smallest_reachable(SENTENCE) == 1 < len(greedy.final)
    for words in beam.all_minimal:
        assert len(words) == len(beam.final) and label(tuple(words)) == beam.predicted
    for a, b in zip(beam.path, beam.path[1:]):  # one word at a time, the label held at each state
        assert b.words == a.words[: a.removed_index] + a.words[a.removed_index + 1 :]
        assert label(tuple(b.words)) == 0
        assert b.confidence == pytest.approx(p_target(b.words, 0), abs=1e-6)
    assert beam.final_confidence == pytest.approx(max(p_target(w, 0) for w in beam.all_minimal), abs=1e-6)


def random_models(n: int, seed: int = 1):
    rng = random.Random(seed)
    for _ in range(n):
        w = {x: round(rng.uniform(-2, 2), 1) for x in QUAD_WORDS}
        v = {p: round(rng.uniform(-3, 3), 1) for p in itertools.combinations(QUAD_WORDS, 2) if rng.random() < 0.3}
        bias = round(rng.uniform(-1, 1), 2) + 0.05
        yield w, v, bias, tuple(rng.sample(QUAD_WORDS, 7))


def test_beam_is_never_longer_than_greedy_when_labels_flip():
    stuck = 0
    for w, v, bias, words in random_models(120):
        kw = dict(w=w, v=v, bias=bias)
        probs = [p_of(s, **kw) for r in range(8) for s in itertools.combinations(words, r)]
        if min(abs(p - 0.5) for p in probs) < 1e-3:
            continue  # a near tie: float32 and the oracle may disagree on the label
        model = make_quad(w, v, bias)
        g = reduce_inputs(model, Example(words), importance="loo")[0]
        b = reduce_inputs(model, Example(words), beam=3, k=3, importance="loo")[0]
        assert g.final == oracle_greedy(words, **kw)[1]
        assert len(b.final) <= len(g.final)
        assert all(label(tuple(x), **kw) == g.predicted for x in b.all_minimal)
        stuck += len(g.final) > 1
    assert stuck >= 8  # the comparison is made where labels do flip


def test_threshold_max_steps_and_min_words_against_the_oracle(quad):
    ex = Example(SENTENCE)
    for kw in (dict(threshold=0.9), dict(threshold=0.99), dict(max_steps=1), dict(max_steps=2), dict(min_words=5)):
        r = reduce_inputs(quad, ex, importance="loo", **kw)[0]
        removed, final = oracle_greedy(SENTENCE, **kw)
        assert r.final == final and [s.removed for s in r.path[:-1]] == removed, kw
    assert len(reduce_inputs(quad, ex, importance="loo", threshold=0.99)[0].final) == 7 - len(oracle_greedy(SENTENCE, threshold=0.99)[0])
    beam = reduce_inputs(quad, ex, beam=5, k=5, importance="loo", min_words=3)[0]
    assert len(beam.final) == 3


def test_model_calls_count_every_row_scored(quad):
    r = reduce_inputs(quad, Example(SENTENCE), importance="loo")[0]
    # The original, then at each state its leave-one-out rows and the one candidate tried.
    assert r.model_calls == 1 + sum(len(s.words) + 1 for s in r.path)
    g = reduce_inputs(quad, Example(SENTENCE), importance="gradient")[0]
    assert g.model_calls == 1 + len(g.path)  # fused: one pass per candidate
    assert (r.importance, r.beam, r.k, g.importance) == ("loo", 1, 1, "gradient")
    b = reduce_inputs(quad, Example(SENTENCE), beam=2, k=3, importance="loo")[0]
    assert (b.beam, b.k) == (2, 3)


def test_random_baseline_against_the_closed_form(quad):
    exs = [Example(SENTENCE, uid="x", label=0), Example(("b", "d", "e", "g"), uid="y", label=1)]
    for r in InputReducer(quad, importance="loo", random_seed=3).reduce(exs):
        base = r.random_baseline
        assert len(base["words"]) == len(r.final) and set(base["words"]) <= set(r.original)
        assert base["confidence"] == pytest.approx(p_target(base["words"], r.predicted), abs=1e-6)
        assert base["predicted"] == label(tuple(base["words"]))
        assert base["kept_prediction"] == (base["predicted"] == r.predicted)
        assert base["seed"] == 3


def test_summary_by_hand():
    def rec(orig, final, conf0, conf1, label, pred, rand_conf, kept):
        return Reduction(uid=None, original=orig, final=final, predicted=pred, original_confidence=conf0,
                         final_confidence=conf1, path=[], all_minimal=[final], model_calls=10, importance="loo",
                         beam=1, k=1, label=label, random_baseline={"confidence": rand_conf, "kept_prediction": kept})
    rs = [
        rec(list("abcd"), ["a"], 0.9, 0.8, 1, 1, 0.5, True),
        rec(list("abcdef"), ["a", "b"], 0.7, 0.6, 0, 1, 0.3, False),
        rec(list("ab"), ["a", "b"], 0.6, 0.6, None, 0, 0.2, False),
    ]
    s = summarize([r.to_dict() for r in rs[:2]] + [rs[2]])
    assert s["examples"] == 3
    assert s["mean_original_length"] == pytest.approx(4.0)
    assert s["mean_reduced_length"] == pytest.approx(5 / 3)
    assert s["reduced_length_histogram"] == {1: 1, 2: 2}
    assert s["share_reduced_to_1"] == pytest.approx(1 / 3)
    assert s["share_reduced_to_2_or_less"] == pytest.approx(1.0)
    assert s["mean_confidence_original"] == pytest.approx(2.2 / 3)
    assert s["mean_confidence_reduced"] == pytest.approx(2.0 / 3)
    assert s["mean_model_calls"] == pytest.approx(10.0)
    assert s["accuracy_original"] == s["accuracy_reduced"] == pytest.approx(0.5)  # gold labels only
    assert s["random_mean_confidence"] == pytest.approx(1.0 / 3)
    assert s["random_share_prediction_kept"] == pytest.approx(1 / 3)


def test_reducer_settings_defaults_and_messages(quad):
    from pathologies import InputError

    r = InputReducer(quad, k=1)  # k = 1 and beam = 1 are allowed
    assert (r.k, r.beam, r.random_seed, r.min_words, r.threshold, r.max_steps) == (1, 1, 0, 1, None, None)
    d = InputReducer(quad, beam=2)
    # the default ranking: the recommended method of the family (an unknown family: the fallback)
    from pathologies.recommended import FALLBACK, recommended_method

    assert d.k == 5 and d._tries() == 5 and d.method.name == recommended_method(quad.family) == FALLBACK
    assert InputReducer(quad, min_words=0).min_words == 1
    for bad in (dict(k=0), dict(beam=0), dict(k=0, beam=3), dict(beam=0, k=3)):
        with pytest.raises(InputError, match="^beam and k must be at least 1$"):
            InputReducer(quad, **bad)
    with pytest.raises(InputError, match="^no examples to reduce$"):
        InputReducer(quad).reduce([])
    # the default seed is 0: the same baseline as random_seed=0
    ex = Example(SENTENCE, uid="s")
    a = InputReducer(quad, importance="loo").reduce(ex)[0].random_baseline
    assert a == InputReducer(quad, importance="loo", random_seed=0).reduce(ex)[0].random_baseline and a["seed"] == 0
    # a method object is used as given
    method = get_loo()
    assert InputReducer(quad, importance=method).method is method


def get_loo():
    from pathologies.attribution import get_method

    return get_method("loo")


def test_inputs_already_at_min_words_are_left_alone(quad):
    # ("b", "d") keeps its label without "d" (p > 0.5 either way), so only min_words stops it.
    assert label(("b", "d")) == label(("b",))
    for importance in ("loo", "gradient"):
        r = reduce_inputs(quad, Example(("b", "d")), importance=importance, min_words=2)[0]
        assert r.final == ["b", "d"] and len(r.path) == 1
        # the original, then the final ranking (loo: one row per word; fused gradient: none more)
        assert r.model_calls == (1 + 2 if importance == "loo" else 1)
        one = reduce_inputs(quad, Example(("b",)), importance=importance)[0]
        assert one.final == ["b"] and one.model_calls == (1 + 1 if importance == "loo" else 1)
    r = reduce_inputs(quad, Example(("b", "d")), importance="loo", min_words=1)[0]
    assert r.final == oracle_greedy(("b", "d"))[1]


def test_model_calls_of_beam_search_with_gradient_and_loo_rankings(quad):
    """model_calls = the original + every ranking of a state (gradient: one row; LOO: one row
    per word) + every candidate tried, the final ranking included."""
    from pathologies.attribution import get_method

    class Counting(InputReducer):
        checked = 0

        def _check(self, variants, targets):
            self.checked += len(variants)
            return super()._check(variants, targets)

    for importance in ("gradient", "loo"):
        method = get_method(importance)
        ranked = []
        real_scores = method.scores

        def scores(model, exs, targets, engine=None):
            ranked.extend(len(ex.words) for ex in exs)
            return real_scores(model, exs, targets, engine=engine)

        method.scores = scores
        reducer = Counting(quad, importance=method, beam=3, k=2)
        r = reducer.reduce(Example(SENTENCE))[0]
        cost = (lambda n: 1) if importance == "gradient" else (lambda n: n)
        assert len(ranked) > len(r.path) - 1 and reducer.checked > 0  # several states ranked per step
        assert r.model_calls == 1 + sum(cost(n) for n in ranked) + reducer.checked, importance


def test_result_records_the_example_and_the_model(quad):
    """uid, label, the fixed segment and its side, the model's labels: carried into the record;
    the fixed words count in the model's score but are never removed."""
    fixed = ("b", "g")
    ex = Example(("d", "c", "a", "e"), fixed=fixed, fixed_first=False, label=1, uid="u7")
    r = reduce_inputs(quad, ex, importance="loo")[0]
    assert (r.uid, r.label, r.fixed, r.fixed_first, r.labels) == ("u7", 1, ["b", "g"], False, ["negative", "positive"])
    assert set(r.final) <= set(ex.words) and r.original == list(ex.words)
    assert r.predicted == label(ex.words + fixed)
    assert r.final_confidence == pytest.approx(p_target(tuple(r.final) + fixed, r.predicted), abs=1e-6)
    plain = reduce_inputs(quad, Example(("d", "c")), importance="loo")[0]
    assert (plain.uid, plain.label, plain.fixed, plain.fixed_first) == ("#0", None, None, True)  # uid by position


def test_reduce_to_file_writes_chunks_and_resumes(quad, tmp_path):
    from pathologies.reduction import reduce_to_file

    exs = [Example(s, uid=f"s{i}", label=i % 2) for i, s in enumerate([SENTENCE, ("b", "d", "e", "g"), ("a", "c"), ("d", "e", "f")])]
    whole = reduce_to_file(quad, exs, str(tmp_path / "a.jsonl"), chunk=3, show_progress=False, importance="loo", beam=2, k=2)
    direct = [r.to_dict() for r in InputReducer(quad, importance="loo", beam=2, k=2).reduce(exs[:3])]
    direct += [r.to_dict() for r in InputReducer(quad, importance="loo", beam=2, k=2).reduce(exs[3:])]
    assert whole == direct and [r["uid"] for r in whole] == ["s0", "s1", "s2", "s3"]
    assert [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()] == whole
    # stopped after the first chunk: only the second is computed again
    lines = (tmp_path / "a.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "b.jsonl").write_text("".join(lines[:3]))
    seen = []
    real = InputReducer.reduce
    InputReducer.reduce = lambda self, part: seen.append([e.uid for e in part]) or real(self, part)
    try:
        resumed = reduce_to_file(quad, exs, str(tmp_path / "b.jsonl"), chunk=3, importance="loo", beam=2, k=2)
    finally:
        InputReducer.reduce = real
    assert resumed == whole and seen == [["s3"]]


def test_reduce_to_file_shows_progress_only_when_asked(quad, tmp_path, monkeypatch):
    import pathologies.progress as progress

    shown = []
    real = progress.progress_bar

    def bar(label, total, show=True):
        shown.append((label, total, show))
        return real(label, total, False)

    import pathologies.reduction as reduction_module

    monkeypatch.setattr(reduction_module, "progress_bar", bar)  # the name reduction.py imported
    from pathologies.reduction import reduce_to_file

    exs = [Example(("a", "c"), uid="x"), Example(("d", "e"), uid="y")]
    reduce_to_file(quad, exs, str(tmp_path / "a.jsonl"), chunk=1)
    reduce_to_file(quad, exs, str(tmp_path / "b.jsonl"), show_progress=False)
    assert shown == [("reduce", 2, True), ("reduce", 2, False)]


def test_reduce_to_file_with_no_examples_says_so(quad, tmp_path):
    from pathologies.reduction import reduce_to_file
    from pathologies.text import InputError

    with pytest.raises(InputError, match=r"^no examples to reduce$"):
        reduce_to_file(quad, [], str(tmp_path / "none.jsonl"), show_progress=False)
    assert not (tmp_path / "none.jsonl").exists()
