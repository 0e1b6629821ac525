"""Input reduction: the paper's algorithm, its invariants, beam schedule, pairs, resumable runs."""

from __future__ import annotations

import pytest

from pathologies import Example
from pathologies.models import load_classifier
from pathologies.reduction import InputReducer, Reduction, beam_size, reduce_inputs, reduce_to_file, summarize
from tiny_models import bow_p, make_bert_dir, make_bow

SENTENCES = [
    "the movie was great fun",
    "a man sleeps outside the movie",
    "the film is not very good !",
    "bad boring awful movie , not fun",
    "the woman runs , the dog sleeps inside",
    "great great bad",
]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return load_classifier(str(make_bert_dir(tmp_path_factory.mktemp("bert"))))


@pytest.mark.parametrize("importance", ["gradient", "loo"])
def test_reduction_ends_on_the_one_decisive_word(importance):
    model = make_bow()
    # p(positive) = sigmoid(0.05): "great" is what keeps the sentence positive.
    words = "the movie was not boring great".split()
    assert bow_p(words) > 0.5
    r = reduce_inputs(model, Example(tuple(words)), importance=importance)[0]
    assert r.final == ["great"]
    assert [s.removed for s in r.path[:-1]][:2] == ["boring", "not"]  # most negative evidence first
    assert r.final_confidence == pytest.approx(bow_p(["great"]), abs=1e-6)


@pytest.mark.parametrize("beam", [1, 3, 5])
def test_prediction_never_changes_along_the_path(bert, beam):
    exs = [Example.from_text(s) for s in SENTENCES]
    for r in reduce_inputs(bert, exs, beam=beam):
        for step in r.path:
            probs = bert.predict_proba([Example(tuple(step.words))])[0]
            assert int(probs.argmax()) == r.predicted
            assert float(probs[r.predicted]) == pytest.approx(step.confidence, abs=1e-5)
        for words in r.all_minimal:
            assert len(words) == len(r.final)
            assert int(bert.predict_proba([Example(tuple(words))]).argmax()) == r.predicted
        # Each step removes exactly the marked word.
        for a, b in zip(r.path, r.path[1:]):
            assert b.words == a.words[: a.removed_index] + a.words[a.removed_index + 1 :]


def test_fused_greedy_equals_the_two_pass_algorithm(bert):
    """Greedy + gradient checks each candidate with the pass that ranks its words; same result."""
    from pathologies.attribution import AttributionMethod, get_method

    class TwoPass(type(get_method("gradient"))):
        attribute = AttributionMethod.attribute  # probabilities from the engine, scores apart
        fuses_prediction = False  # the capability goes with the behaviour

    exs = [Example.from_text(s) for s in SENTENCES]
    fused_reducer, plain_reducer = InputReducer(bert, importance="gradient"), InputReducer(bert, importance=TwoPass())
    assert fused_reducer._fused and not plain_reducer._fused
    fused, plain = fused_reducer.reduce(exs), plain_reducer.reduce(exs)
    for f, p in zip(fused, plain):
        assert f.final == p.final and [s.removed for s in f.path] == [s.removed for s in p.path]
        assert [s.confidence for s in f.path] == pytest.approx([s.confidence for s in p.path], abs=1e-5)
        assert [s.scores for s in f.path][-1] == pytest.approx([s.scores for s in p.path][-1], abs=1e-5)
        assert f.model_calls < p.model_calls  # one pass per step instead of two


@pytest.mark.parametrize("importance", ["gradient", "loo"])
def test_beam_is_never_longer_than_greedy(bert, importance):
    exs = [Example.from_text(s) for s in SENTENCES]
    greedy = reduce_inputs(bert, exs, beam=1, importance=importance)
    beam = reduce_inputs(bert, exs, beam=5, k=5, importance=importance)
    for g, b in zip(greedy, beam):
        assert len(b.final) <= len(g.final)


def test_beam_schedule():
    assert [beam_size(5, L) for L in (1, 3, 4, 5, 6, 7, 8, 9, 20)] == [1, 1, 1, 2, 3, 4, 5, 5, 5]


def test_beam_width_follows_the_schedule_at_every_length(bert):
    seen = []

    class Watch(InputReducer):
        def _step(self, searches):
            for s in searches:
                seen.append((len(s.beam[0].example.words), len(s.beam)))
            super()._step(searches)

    Watch(bert, beam=5, k=5).reduce([Example.from_text(s) for s in SENTENCES])
    assert seen
    for length, width in seen[len(SENTENCES):]:  # after the first step (one start state)
        assert width <= beam_size(5, length + 1)


def test_pairs_shrink_only_the_perturbable_segment(bert):
    ex = Example.pair("a man sleeps outside the movie", "the man is not sleeping inside")
    calls = []
    reducer = InputReducer(bert, beam=3, k=3)
    real = reducer.engine.probabilities

    def spy(variants):
        calls.extend(variants)
        return real(variants)

    reducer.engine.probabilities = spy
    r = reducer.reduce([ex])[0]
    assert r.fixed == "a man sleeps outside the movie".split()
    assert all(v.fixed == ex.fixed for v in calls)
    assert set(r.final) <= set(ex.words)


def test_threshold_and_step_limit():
    model = make_bow()
    ex = Example(tuple("the movie was not boring great fun".split()))
    assert len(reduce_inputs(model, ex, max_steps=2)[0].final) == 5
    r = reduce_inputs(model, ex, threshold=0.9)[0]
    assert all(s.confidence >= 0.9 for s in r.path[1:])


def test_random_baseline_has_the_reduced_length_and_is_seeded(bert):
    exs = [Example.from_text(s, uid=str(i)) for i, s in enumerate(SENTENCES)]
    a = reduce_inputs(bert, exs, random_seed=1)
    b = reduce_inputs(bert, exs, random_seed=1)
    for r, r2 in zip(a, b):
        assert len(r.random_baseline["words"]) == len(r.final)
        assert r.random_baseline == r2.random_baseline


def test_summary_and_resumed_run(bert, tmp_path):
    exs = [Example.from_text(s, uid=f"s{i}", label=i % 2) for i, s in enumerate(SENTENCES)]
    whole = reduce_to_file(bert, exs, str(tmp_path / "a.jsonl"), chunk=2, show_progress=False)
    lines = (tmp_path / "a.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "b.jsonl").write_text("".join(lines[:4]) + lines[4][:10])  # stopped in chunk 3
    resumed = reduce_to_file(bert, exs, str(tmp_path / "b.jsonl"), chunk=2, show_progress=False)
    assert resumed == whole
    s = summarize(whole)
    assert s["examples"] == 6
    assert s["mean_reduced_length"] <= s["mean_original_length"]
    assert 0 <= s["share_reduced_to_1"] <= s["share_reduced_to_2_or_less"] <= 1
    assert Reduction.from_dict(whole[0]).path[0].words == SENTENCES[0].split()


def test_all_examples_share_engine_batches(bert):
    exs = [Example.from_text(s) for s in SENTENCES]
    reducer = InputReducer(bert, beam=5, k=5)
    reducer.reduce(exs)
    longest = max(len(r.split()) for r in SENTENCES)
    # One call for the originals, one per step (all examples together), one for the baseline.
    assert reducer.engine.stats.batches <= 2 + longest


def test_random_baseline_depends_on_the_sentence_and_seed_only_not_batch_position_or_verb(tmp_path):
    """One seed rule: alone (uid #0), at another position of a batch (uid #k), in a data set
    through the audit (a file's uid), the same sentence gets the same random words."""
    from pathologies.audit import AuditSpec, audit
    from pathologies.text import example_seed

    model = make_bow()
    texts = ["the movie was not boring great fun the movie", "great fun the movie was not bad not boring", "fun fun the movie great not"]
    alone = [reduce_inputs(model, t)[0] for t in texts]
    batch = reduce_inputs(model, ["bad movie", "the the"] + texts[::-1])[2:][::-1]
    run = audit(
        model, [Example.from_text(t, uid=f"mine.jsonl:{i + 7}") for i, t in enumerate(texts)], tmp_path / "run",
        spec=AuditSpec(methods=["gradient"], metrics=[], reduce="greedy", reduce_by="gradient", curves=False, show=0),
        show_progress=False,
    )
    audited = run.reductions()
    for a, b, c in zip(alone, batch, audited):
        assert a.final == b.final == c.final and len(a.final) < len(a.original)
        assert a.random_baseline["words"] == b.random_baseline["words"] == c.random_baseline["words"]
        assert a.random_baseline["confidence"] == pytest.approx(c.random_baseline["confidence"], abs=1e-6)
    # The rule itself, pinned: sha256 of the seed and the content, the same in every process.
    assert example_seed(0, Example(("a", "b"))) == example_seed(0, Example(("a", "b"), uid="elsewhere"))
    assert example_seed(0, Example(("a", "b"))) != example_seed(1, Example(("a", "b")))
    assert example_seed(0, Example(("a", "b"), fixed=("c",))) != example_seed(0, Example(("a", "b")))
    assert example_seed(0, Example(("a", "b"))) == 9193274699867667350
