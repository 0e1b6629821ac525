"""Defaults follow the evidence: the method each family reads first is what the planted-shortcut
results stored in benchmarks/results pick (pathologies.shortcut_analysis.recommend)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pathologies.recommended import EVIDENCE, FALLBACK, METHOD, card_methods, recommended_method
from pathologies.shortcut_analysis import recommend
from pathologies.text import InputError

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


@pytest.mark.parametrize("family", sorted(METHOD))
def test_each_default_is_what_the_stored_planted_results_pick(family):
    tables = [json.loads((RESULTS / name).read_text()) for name in EVIDENCE[family]]
    assert tables and all(t["settings"]["base"] == {"hf": "minilm"}.get(family, family) for t in tables)
    assert recommend(tables)["method"] == METHOD[family]


def test_recommend_by_hand():
    def table(learned, **p):
        return {"learned": learned, "shortcut": {"methods": {m: {"follows": {"precision_at_k": v}} for m, v in p.items()}}}

    # the best mean wins; within 0.01 the signed, cheaper one; random never; unlearned sets ignored
    t1 = table(True, **{"gradient": 0.80, "loo": 1.0, "gradient-l2": 1.0, "random": 1.0})
    t2 = table(True, **{"gradient": 0.90, "loo": 0.995, "gradient-l2": 1.0, "random": 1.0})
    t3 = table(False, **{"gradient": 1.0, "loo": 0.0, "gradient-l2": 0.0, "random": 0.0})
    r = recommend([t1, t2, t3])
    assert r["method"] == "loo" and r["sets"] == 2 and r["tied"] == ["loo", "gradient-l2"]
    assert recommend([table(True, gradient=0.995, loo=1.0)])["method"] == "gradient"  # tie: the cheaper
    with pytest.raises(InputError, match="learned"):
        recommend([t3])


def test_card_methods_put_the_recommended_first_and_loo_once():
    assert recommended_method("no-such-family") == FALLBACK and recommended_method(None) == FALLBACK
    for family in [*METHOD, None]:
        ms = card_methods(family)
        assert ms[0] == recommended_method(family) and len(set(ms)) == len(ms) == 3
        assert not {"loo", "loo-log-odds"} <= set(ms)  # they rank words alike: compared once
