"""Extractive question answering: the QA adapter (windows, spans), LOO and gradient for the
span, question reduction with the span kept, SQuAD files, the CLI, entropy fine-tuning.

Oracles run the raw ``transformers`` model one input at a time, outside the toolkit.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch

from pathologies.data.squad import QAItem, exact_match, f1_score, parse_squad, read_squad
from pathologies.models.qa import NULL_SPAN, QAModel, load_qa_model, qa_example
from pathologies.qa.engine import QAEngine
from pathologies.qa.explain import explain_qa, predict_qa
from pathologies.qa.records import QAReduction, summarize_qa
from pathologies.qa.reduction import reduce_questions
from pathologies.text import InputError

WORDS = (
    "the a of in is was who what where when did city capital france paris river born "
    "man dog sleeps runs nobody outside inside un ##believ ##ably ##able . , ? ! "
    "seine london flows through named built year king queen old new big small an"
).split()
CONTEXT = "the king was born in paris . an unbelievable queen named london built a big city , the seine river flows through old france"
QUESTIONS = [
    "who was the unbelievable king born in paris ?",
    "where did the old river flow ?",
    "what city is the capital of france ?",
    "when was the big king born ?",
    "who is the new queen of london ?",
    "what river flows through the city ?",
]


def make_qa_dir(root: Path, *, max_position_embeddings: int = 64, init: float = 0.6, positions: float = 0.0,
                plant: str | None = None, seed: int = 0) -> Path:
    """A 2-layer BERT QA model with random weights and a WordPiece vocabulary written here.

    ``positions=0`` zeroes the position embeddings (the spans then depend on the words, not
    on where the shorter question shifts the context); ``plant`` gives one word an embedding
    the QA head reads as a strong start and end.
    """
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab=str(root / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_position_embeddings, initializer_range=init)
    model = BertForQuestionAnswering(config)
    with torch.no_grad():
        model.bert.embeddings.position_embeddings.weight.mul_(positions)
        if plant is not None:
            u = torch.randn(32)
            u /= u.norm()
            model.bert.embeddings.word_embeddings.weight[vocab.index(plant)] = 3 * u
            model.qa_outputs.weight[:] = 4 * u
    model.save_pretrained(root)
    tok.save_pretrained(root)
    return root


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is fastest (and kind to a shared machine); restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def qa_dir(tmp_path_factory):
    return make_qa_dir(tmp_path_factory.mktemp("qa") / "model")


@pytest.fixture(scope="module")
def model(qa_dir):
    return load_qa_model(qa_dir)


@pytest.fixture(scope="module")
def raw(qa_dir):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    return AutoModelForQuestionAnswering.from_pretrained(str(qa_dir)).eval(), AutoTokenizer.from_pretrained(str(qa_dir))


def examples():
    return [qa_example(q, CONTEXT, uid=f"q{i}") for i, q in enumerate(QUESTIONS)]


# --- the oracle: the raw model, one input and one window at a time --------------------------
def raw_window(raw, question, context, lo, hi, *, grad=False):
    """Word-level start/end log-probabilities of one window, straight from transformers."""
    hf, tok = raw
    enc = tok([list(question)], [list(context[lo:hi])], is_split_into_words=True, return_tensors="pt")
    seq, wid = enc.sequence_ids(0), enc.word_ids(0)
    embeds = hf.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(grad)
    extra = {"token_type_ids": enc["token_type_ids"]} if "token_type_ids" in tok.model_input_names else {}
    out = hf(inputs_embeds=embeds, attention_mask=enc["attention_mask"], **extra)
    valid = torch.tensor([s == 1 for s in seq])
    valid[0] = True  # [CLS], the null answer
    ls = torch.log_softmax(out.start_logits[0].masked_fill(~valid, -math.inf), -1)
    le = torch.log_softmax(out.end_logits[0].masked_fill(~valid, -math.inf), -1)
    first, last = {}, {}
    for t, (s, w) in enumerate(zip(seq, wid)):
        if s == 1:
            first.setdefault(lo + w, t)
            last[lo + w] = t
    return ls, le, first, last, embeds, seq, wid


_RAW: dict = {}


def raw_predict(raw, model, ex):
    """(span, logp, null logp, per-window tables) over the model's windows (memoized: the
    brute-force oracles ask for the same inputs many times)."""
    key = (raw[0], model, ex.words, ex.fixed)  # the objects themselves: an id is never reused
    if key not in _RAW:
        _RAW[key] = _raw_predict(raw, model, ex)
    return _RAW[key]


def _raw_predict(raw, model, ex):
    best, best_lp, nulls, tables = NULL_SPAN, -math.inf, [], []
    with torch.no_grad():
        for lo, hi in model.windows(ex):
            ls, le, first, last, *_ = raw_window(raw, ex.words, ex.fixed, lo, hi)
            tables.append((lo, hi, ls, le, first, last))
            nulls.append(float(ls[0] + le[0]))
            for i in range(lo, hi):
                for j in range(i, min(hi, i + model.max_answer_words)):
                    v = float(ls[first[i]] + le[last[j]])
                    if v > best_lp:
                        best, best_lp = (i, j), v
    return best, best_lp, min(nulls), tables


def raw_span_prob(raw, model, ex, span):
    *_, tables = raw_predict(raw, model, ex)
    best = -math.inf
    for lo, hi, ls, le, first, last in tables:
        if lo <= span[0] <= span[1] < hi:
            best = max(best, float(ls[first[span[0]]] + le[last[span[1]]]))
    return math.exp(best)


# --- the adapter -----------------------------------------------------------------------------
def test_predictions_match_the_raw_model_batched_and_cached(model, raw):
    exs = examples()
    engine = QAEngine(model)
    scored = engine.scores(exs + exs[:2])  # duplicates are scored once
    assert engine.stats.unique == len(exs) and engine.stats.batches == 1
    for ex, sc in zip(exs, scored):
        span, lp, _, _ = raw_predict(raw, model, ex)
        assert tuple(sc.span) == span
        assert sc.logp == pytest.approx(lp, abs=1e-4)
    assert len({tuple(s.span) for s in scored}) > 1  # the question matters to this model
    again = engine.scores(exs)
    assert engine.stats.cache_hits >= len(exs) and [a.span for a in again] == [s.span for s in scored[: len(exs)]]


def test_long_context_is_windowed_never_cut_and_the_answer_is_in_a_later_window(tmp_path):
    planted = load_qa_model(make_qa_dir(tmp_path / "planted", positions=1.0, plant="paris", init=0.02), stride=16)
    filler = " ".join(["the old dog sleeps outside ."] * 20)
    ex = qa_example("who was born in paris ?", filler + " the king was born in paris .", uid="long")
    windows = planted.windows(ex)
    assert len(windows) > 2 and windows[0][0] == 0 and windows[-1][1] == len(ex.fixed)
    covered = set()
    for (lo, hi), nxt in zip(windows, windows[1:] + [None]):
        covered |= set(range(lo, hi))
        assert planted.n_pieces(ex.words) + planted.n_pieces(ex.fixed[lo:hi]) + 3 <= 64
        if nxt is not None:
            assert lo < nxt[0] <= hi and planted.n_pieces(ex.fixed[nxt[0]:hi]) <= 16
    assert covered == set(range(len(ex.fixed)))
    sc = QAEngine(planted).scores([ex])[0]
    paris = len(ex.fixed) - 2
    assert tuple(sc.span) == (paris, paris) and sc.window_of(sc.span) == len(windows) - 1
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    raw = AutoModelForQuestionAnswering.from_pretrained(str(tmp_path / "planted")).eval(), AutoTokenizer.from_pretrained(str(tmp_path / "planted"))
    span, lp, _, _ = raw_predict(raw, planted, ex)
    assert tuple(sc.span) == span and sc.logp == pytest.approx(lp, abs=1e-4)
    # LOO through the windows: a deletion shifts them, the span is looked up in the new ones
    att = explain_qa(planted, ex, "loo")[0]
    for i, score in enumerate(att.scores):
        expect = raw_span_prob(raw, planted, ex, span) - raw_span_prob(raw, planted, ex.without([i]), span)
        assert score == pytest.approx(expect, abs=1e-5)
    assert att.answer == "paris"
    for beam in (1, 3):  # reduction across windows: the shorter question gets other windows
        red = reduce_questions(planted, ex, importance="loo", beam=beam)[0]
        assert raw_predict(raw, planted, ex.with_words(red.final))[0] == span and len(red.final) < len(ex.words)


def test_a_question_too_long_for_the_model_is_one_clear_error(model):
    ex = qa_example(" ".join(["king"] * 70), CONTEXT, uid="huge")
    with pytest.raises(InputError, match="huge has 70 tokens"):
        model.windows(ex)


def test_multi_piece_words_are_one_unit_and_spans_are_whole_words(model, raw):
    assert model.n_pieces(["unbelievable"]) == 3
    item = QAItem("m", "who was the unbelievable king ?", "an unbelievable queen named london built paris .")
    att = explain_qa(model, item, "loo")[0]
    assert att.words[3] == "unbelievable" and len(att.scores) == len(att.words)
    s, e = att.span_chars
    assert att.answer == item.context[s:e]
    assert item.context[s:e].split() == list(item.context_words[att.span[0] : att.span[1] + 1])


# --- attribution -----------------------------------------------------------------------------
def test_loo_is_the_raw_model_run_on_each_deletion(model, raw):
    atts = explain_qa(model, examples(), "loo")
    for ex, att in zip(examples(), atts):
        span, lp, _, _ = raw_predict(raw, model, ex)
        assert tuple(att.span) == span and att.probability == pytest.approx(math.exp(lp), rel=1e-4)
        assert att.target == "span probability" and att.rows == 1 + len(ex.words)
        for i, score in enumerate(att.scores):
            expect = math.exp(lp) - raw_span_prob(raw, model, ex.without([i]), span)
            assert score == pytest.approx(expect, abs=1e-6)


def test_gradient_is_embedding_dot_gradient_of_the_span_log_probability(model, raw):
    ex = examples()[0]  # "unbelievable": three pieces, one word
    att = explain_qa(model, ex, "gradient")[0]
    i, j = att.span
    ls, le, first, last, embeds, seq, wid = raw_window(raw, ex.words, ex.fixed, 0, len(ex.fixed), grad=True)
    (g,) = torch.autograd.grad(ls[first[i]] + le[last[j]], embeds)
    dot = (g[0] * embeds[0].detach()).sum(-1)
    expect = [0.0] * len(ex.words)
    for t, (s, w) in enumerate(zip(seq, wid)):
        if s == 0:
            expect[w] += float(dot[t])
    assert att.target == "span log-probability"
    assert att.scores == pytest.approx(expect, abs=1e-5)
    l2 = explain_qa(model, ex, "gradient-l2")[0]
    assert all(x >= 0 for x in l2.scores)


def test_methods_that_do_not_fit_qa_are_refused(model):
    with pytest.raises(InputError, match="not available for QA"):
        explain_qa(model, examples()[0], "marginalization")


# --- reduction ---------------------------------------------------------------------------------
def keeps(raw, model, ex, words, span):
    return raw_predict(raw, model, ex.with_words(words))[0] == tuple(span)


@pytest.mark.parametrize("importance,beam", [("gradient", 1), ("loo", 1), ("gradient", 3), ("loo", 3)])
def test_every_reduced_question_keeps_exactly_the_span(model, raw, importance, beam):
    reds = reduce_questions(model, examples(), importance=importance, beam=beam)
    for ex, r in zip(examples(), reds):
        assert keeps(raw, model, ex, r.final, r.span)
        for step in r.path:
            assert keeps(raw, model, ex, step.words, r.span)
        assert r.final_confidence == pytest.approx(raw_span_prob(raw, model, ex.with_words(r.final), r.span), rel=1e-4)
        b = r.random_baseline
        assert len(b["words"]) == len(r.final)
        assert b["kept_span"] == keeps(raw, model, ex, b["words"], r.span)
    if importance == "loo":
        assert min(len(r.final) for r in reds) == 1  # some question reduces to one word
    assert any(len(r.final) < len(r.original) for r in reds)


def test_greedy_loo_reduction_follows_the_brute_force_path(model, raw):
    """Greedy with LOO, redone by hand on the raw model: rank by LOO, drop the lowest, keep going
    while the span holds."""
    for ex, r in zip(examples(), reduce_questions(model, examples(), importance="loo")):
        span, lp, _, _ = raw_predict(raw, model, ex)
        words = list(ex.words)
        while len(words) > 1:
            cur = ex.with_words(words)
            p = raw_span_prob(raw, model, cur, span)
            loo = [p - raw_span_prob(raw, model, cur.without([i]), span) for i in range(len(words))]
            drop = min(range(len(words)), key=loo.__getitem__)
            if not keeps(raw, model, ex, words[:drop] + words[drop + 1 :], span):
                break
            words = words[:drop] + words[drop + 1 :]
        assert r.final == words


def test_beam_against_brute_force_on_short_questions(model, raw):
    for ex in examples():
        r_beam = reduce_questions(model, ex, importance="loo", beam=5, k=len(ex.words))[0]
        r_greedy = reduce_questions(model, ex, importance="loo")[0]
        span = tuple(r_beam.span)
        n = len(ex.words)
        keepers = [sub for L in range(1, n + 1) for sub in itertools.combinations(range(n), L)
                   if keeps(raw, model, ex, [ex.words[i] for i in sub], span)] if n <= 7 else []
        if keepers:
            shortest = min(len(s) for s in keepers)
            assert len(r_beam.final) >= shortest
            assert tuple(r_beam.final) in {tuple(ex.words[i] for i in s) for s in keepers}
        assert len(r_beam.final) <= len(r_greedy.final)
        if len(r_beam.final) > 1:  # k = every word: no single further deletion keeps the span
            cur = ex.with_words(r_beam.final)
            for i in range(len(r_beam.final)):
                assert not keeps(raw, model, ex, list(cur.without([i]).words), span)


# --- SQuAD files -------------------------------------------------------------------------------
def squad_doc(version="v2.0"):
    ctx = CONTEXT
    return {
        "version": version,
        "data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": [
            {"id": "a1", "question": "who was born in paris ?", "answers": [{"text": "king", "answer_start": ctx.index("king")}], "is_impossible": False},
            {"id": "a2", "question": "what river flows through old france ?", "answers": [{"text": "seine river", "answer_start": ctx.index("seine")}]},
            {"id": "u1", "question": "who is the new king of london ?", "answers": [], "is_impossible": True},
        ]}]}],
    }


def test_cloze_questions_from_sentences(tmp_path):
    from pathologies.data.squad import cloze_squad

    lines = [f"A man number {w} is playing a {w}guitar ." for w in ["one", "two", "three", "four", "five", "six", "seven", "eight"]]
    src = tmp_path / "s.txt"
    src.write_text("\n".join(lines + lines[:2] + ["too short ."]) + "\n")
    doc = cloze_squad(src, 2)
    data = parse_squad(doc)  # every answer is checked against its context
    assert len(data) == 8 and all(it.question.endswith("a what ?") for it in data.items)
    assert all(it.answers[0][0].endswith("guitar") for it in data.items)
    held_out = parse_squad(cloze_squad(src, 1, skip=4))
    assert {it.question for it in held_out.items}.isdisjoint({it.question for it in parse_squad(cloze_squad(src, 1)).items})
    with pytest.raises(InputError, match="8 usable sentences, 12 needed"):
        cloze_squad(src, 3)


def test_squad_v1_and_v2_files(tmp_path):
    p = tmp_path / "dev-v2.0.json"
    p.write_text(json.dumps(squad_doc()))
    data = read_squad(p)
    assert [it.uid for it in data.items] == ["a1", "a2", "u1"] and data.has_impossible
    assert data.items[2].is_impossible and data.items[2].gold_spans() == []
    assert data.items[1].gold_spans() == [(data.items[1].context_words.index("seine"), data.items[1].context_words.index("river"))]
    doc = squad_doc("1.1")
    doc["data"][0]["paragraphs"][0]["qas"] = doc["data"][0]["paragraphs"][0]["qas"][:2]
    p1 = tmp_path / "dev-v1.1.json"
    p1.write_text(json.dumps(doc))
    assert len(read_squad(p1)) == 2 and not read_squad(p1).has_impossible
    assert len(read_squad(p, limit=1)) == 1
    assert exact_match("The King", ["king"]) == 1.0 and f1_score("seine river flows", ["seine river"]) == pytest.approx(0.8)
    assert exact_match("", []) == 1.0


@pytest.mark.parametrize("damage,match", [
    (lambda d: "{\"data\": [", "not valid JSON"),
    (lambda d: json.dumps({"version": "x"}), "not SQuAD format"),
    (lambda d: json.dumps({"data": [{"paragraphs": [{"qas": []}]}]}), "needs a \"context\""),
    (lambda d: (d["data"][0]["paragraphs"][0]["qas"][0].pop("id"), json.dumps(d))[1], "has no \"id\""),
    (lambda d: (d["data"][0]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start=3), json.dumps(d))[1], "not in the context at character 3"),
    (lambda d: (d["data"][0]["paragraphs"][0]["qas"][1].update(answers=[]), json.dumps(d))[1], "no answers and not marked"),
    (lambda d: (d["data"][0]["paragraphs"][0]["qas"][2].update(id="a1"), json.dumps(d))[1], "appears twice"),
])
def test_damaged_squad_files_are_one_line(tmp_path, damage, match):
    p = tmp_path / "bad.json"
    p.write_text(damage(squad_doc()))
    with pytest.raises(InputError, match=match) as err:
        read_squad(p)
    assert "\n" not in str(err.value) and str(p) in str(err.value)


def test_unanswerable_questions_and_the_null_answer(tmp_path):
    null_model = load_qa_model(make_qa_dir(tmp_path / "null", plant="[CLS]", init=0.02), null_answer=True)
    p = tmp_path / "v2.json"
    p.write_text(json.dumps(squad_doc()))
    data = read_squad(p)
    preds = predict_qa(null_model, data)
    assert all(pr["span"] == [-1, -1] and pr["answer"] == "" for pr in preds)
    reds = reduce_questions(null_model, data, importance="loo")
    assert all(r.span == [-1, -1] for r in reds) and all(len(r.final) == 1 for r in reds)
    s = summarize_qa(reds)
    assert s["exact_match"] == pytest.approx(1 / 3)  # the impossible question is answered right
    sc = QAEngine(null_model).scores([data.items[0].example()])[0]
    assert sc.null_logp > sc.best_span_logp and sc.logp == sc.null_logp


def test_records_round_trip_through_json(model):
    r = reduce_questions(model, examples()[:2], beam=2)[0]
    back = QAReduction.from_dict(json.loads(r.to_json()))
    assert back == r


# --- run folders and the command line ----------------------------------------------------------
def test_cli_reduce_and_explain_write_run_folders_that_resume(tmp_path, qa_dir):
    from typer.testing import CliRunner

    from pathologies.cli_qa import qa_app

    data = tmp_path / "dev-v2.0.json"
    data.write_text(json.dumps(squad_doc()))
    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(qa_app, ["reduce", str(qa_dir), "--data", str(data), "--out", str(out), "--importance", "loo", "--beam", "2", "--chunk", "2", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    lines = (out / "records" / "qa_reductions.jsonl").read_text().splitlines()
    assert [json.loads(l)["uid"] for l in lines] == ["a1", "a2", "u1"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["null_answer"] is True  # the file has unanswerable questions
    summary = json.loads((out / "summary.json").read_text())
    assert summary["examples"] == 3 and "random_share_span_kept" in summary["reduction"]
    first = (out / "records" / "qa_reductions.jsonl").read_bytes()
    res = runner.invoke(qa_app, ["reduce", str(qa_dir), "--data", str(data), "--out", str(out), "--importance", "loo", "--beam", "2", "--chunk", "2", "--device", "cpu"])
    assert res.exit_code == 0 and (out / "records" / "qa_reductions.jsonl").read_bytes() == first  # nothing redone
    res = runner.invoke(qa_app, ["reduce", str(qa_dir), "--data", str(data), "--out", str(out), "--beam", "3", "--importance", "loo", "--device", "cpu"])
    assert res.exit_code == 2 and "spec.beam: 2 in the run, 3 now" in res.output
    # stdout JSON lines, one question given on the command line
    res = runner.invoke(qa_app, ["explain", str(qa_dir), "--question", QUESTIONS[0], "--context", CONTEXT, "--method", "loo", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.output.splitlines()[0])
    assert record["target"] == "span probability" and len(record["scores"]) == len(QUESTIONS[0].split())
    res = runner.invoke(qa_app, ["explain", str(qa_dir), "--data", str(data), "--limit", "2", "--out", str(tmp_path / "ex"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "ex" / "records" / "qa_attributions.jsonl").read_text().splitlines()) == 2


def test_cli_errors_are_one_line(tmp_path, qa_dir):
    from typer.testing import CliRunner

    from pathologies.cli_qa import qa_app

    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"paragraphs": [')
    runner = CliRunner()
    for args, match in [
        (["explain", str(qa_dir), "--data", str(bad)], "not valid JSON"),
        (["explain", str(qa_dir), "--data", str(bad), "--method", "conformity"], "not available for QA"),
        (["reduce", str(tmp_path / "nope"), "--data", str(bad)], "model path does not exist"),
        (["explain", str(qa_dir)], "give --data FILE"),
    ]:
        res = runner.invoke(qa_app, args)
        assert res.exit_code == 2 and match in res.output, (args, res.output)
        assert len(res.output.strip().splitlines()) == 1


def test_qa_verb_is_wired_into_the_main_command():
    from typer.testing import CliRunner

    from pathologies.cli import app

    res = CliRunner().invoke(app, ["qa", "--help"])
    assert res.exit_code == 0 and "reduce" in res.output and "explain" in res.output


# --- entropy fine-tuning on reduced questions (paper §5) -----------------------------------------
def test_entropy_finetuning_raises_the_entropy_on_reduced_questions(tmp_path):
    """Same data, same seed: with the entropy term the model is less certain on the reduced
    questions than after plain fine-tuning, and it still learns the gold spans."""
    from pathologies.qa.training import QATrainConfig, entropy_finetune, finetune_qa, reduced_questions_for_training, span_entropy

    root = make_qa_dir(tmp_path / "trainable", init=0.02, positions=1.0)  # BERT's own init: it learns
    data = parse_squad(squad_doc())
    config = QATrainConfig(epochs=4, batch_size=3, lr=3e-3)
    plain = load_qa_model(root)
    history = finetune_qa(plain, data, config=config, dev=data, log=lambda s: None)
    assert history[-1]["loss"] < history[0]["loss"] and history[-1]["f1"] > 0.5
    model = load_qa_model(root)
    report = entropy_finetune(model, data, lam=5.0, importance="loo", config=config, dev=data, log=lambda s: None)
    assert report["reduced_questions"] == 3 and len(report["history"]) == 4 and report["config"]["lam"] == 5.0
    assert all(math.isfinite(row["loss"]) for row in report["history"]) and report["history"][-1]["f1"] > 0.5
    assert model.version > 0  # cached scores of the old weights are not reused
    reduced = reduced_questions_for_training(load_qa_model(root), data, importance="loo")
    with torch.no_grad():
        h_plain = float(span_entropy(plain, [e for e, _ in reduced], [s for _, s in reduced]))
        h_reg = float(span_entropy(model, [e for e, _ in reduced], [s for _, s in reduced]))
    assert h_reg > h_plain and report["reduced_entropy_after"] == pytest.approx(h_reg, abs=1e-4)
    model.save(tmp_path / "tuned")
    assert load_qa_model(tmp_path / "tuned").max_length == 64


def test_erasure_by_unk_is_the_raw_model_with_the_word_replaced(model, raw):
    ex = examples()[0]
    att = explain_qa(model, ex, "erasure-unk")[0]
    span = tuple(att.span)
    p = raw_span_prob(raw, model, ex, span)
    for i, score in enumerate(att.scores):
        words = list(ex.words)
        words[i] = "[UNK]"
        assert score == pytest.approx(p - raw_span_prob(raw, model, ex.with_words(words), span), abs=1e-6)


def test_the_hub_squad_path_with_a_stand_in_for_the_hub(monkeypatch):
    """``squad:dev`` goes to datasets.load_dataset("rajpurkar/squad", split="validation[:N]");
    here a stand-in returns rows in the hub's flat layout."""
    import datasets

    from pathologies.data.squad import load_qa_data

    asked = {}

    def fake(repo, split):
        asked.update(repo=repo, split=split)
        return [
            {"id": "h1", "title": "T", "context": CONTEXT, "question": "who was born in paris ?",
             "answers": {"text": ["king"], "answer_start": [CONTEXT.index("king")]}},
            {"id": "h2", "title": "T", "context": CONTEXT, "question": "who is the new king of london ?",
             "answers": {"text": [], "answer_start": []}},
        ]

    monkeypatch.setattr(datasets, "load_dataset", fake)
    data = load_qa_data("squad_v2:dev", limit=2)
    assert asked == {"repo": "rajpurkar/squad_v2", "split": "validation[:2]"}
    assert [it.uid for it in data.items] == ["h1", "h2"] and data.items[1].is_impossible
    with pytest.raises(InputError, match="unknown QA data set 'sqad'"):
        load_qa_data("sqad")


def test_cli_train_and_the_text_view(tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli_qa import qa_app

    root = make_qa_dir(tmp_path / "base", init=0.02, positions=1.0)
    data = tmp_path / "train.json"
    data.write_text(json.dumps(squad_doc()))
    runner = CliRunner()
    res = runner.invoke(qa_app, ["train", str(root), "--data", str(data), "--dev", str(data), "--out", str(tmp_path / "tuned"),
                                 "--lam", "1.0", "--importance", "loo", "--epochs", "1", "--batch-size", "3", "--lr", "1e-3", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "tuned" / "training.json").read_text())
    assert report["config"]["lam"] == 1.0 and report["reduced_questions"] == 3
    res = runner.invoke(qa_app, ["reduce", str(tmp_path / "tuned"), "--data", str(data), "--out", str(tmp_path / "run"),
                                 "--importance", "loo", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "reduced:" in res.output and "random:" in res.output and "[[" in res.output or "(no answer)" in res.output
    assert "gold: (unanswerable)" in res.output


def test_a_context_word_without_pieces_is_never_a_span_boundary(model):
    ex = qa_example(QUESTIONS[0], "the king \u200b was born in paris \u200b .", uid="zw")
    sc = QAEngine(model).scores([ex])[0]
    assert math.isinf(float(sc.windows[0].start[2])) and math.isinf(float(sc.windows[0].end[7]))
    assert sc.span[0] not in (2, 7) and sc.span[1] not in (2, 7) and math.isfinite(sc.logp)
    assert len(explain_qa(model, ex, "gradient")[0].scores) == len(ex.words)


def test_a_byte_level_bpe_model_roberta(tmp_path):
    """RoBERTa: no token types, byte-level pieces (prefix space added for pre-split words)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, RobertaConfig, RobertaForQuestionAnswering, RobertaTokenizerFast

    root = tmp_path / "roberta"
    root.mkdir()
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([CONTEXT] + QUESTIONS, vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(root))
    tok = RobertaTokenizerFast(vocab=str(root / "vocab.json"), merges=str(root / "merges.txt"))
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=66, initializer_range=0.6,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    RobertaForQuestionAnswering(config).save_pretrained(root)
    tok.save_pretrained(root)
    model = load_qa_model(root)
    assert model.max_length == 64
    raw = AutoModelForQuestionAnswering.from_pretrained(str(root)).eval(), AutoTokenizer.from_pretrained(str(root), add_prefix_space=True)
    atts = explain_qa(model, examples(), "loo")
    for ex, att in zip(examples(), atts):
        span, lp, _, _ = raw_predict(raw, model, ex)
        assert tuple(att.span) == span and att.probability == pytest.approx(math.exp(lp), rel=1e-4)
        for i, score in enumerate(att.scores):
            assert score == pytest.approx(math.exp(lp) - raw_span_prob(raw, model, ex.without([i]), span), abs=1e-6)
    for ex, r in zip(examples(), reduce_questions(model, examples(), importance="loo", beam=2)):
        assert keeps(raw, model, ex, r.final, r.span)


# --- a small QA model trained here (slow) -------------------------------------------------------
@pytest.mark.slow
def test_minilm_fine_tuned_on_cloze_questions_reduces_them_and_entropy_training_runs(tmp_path):
    """all-MiniLM-L6-v2 with a new QA head, fine-tuned on 200 cloze questions from SNLI
    premises: it answers held-out questions, and its questions reduce to a few words that
    keep the very same span while random words of the same length mostly do not."""
    import os

    from pathologies.data.squad import cloze_squad
    from pathologies.models.pretrained import minilm_path
    from pathologies.qa.training import QATrainConfig, entropy_finetune, evaluate_qa, finetune_qa

    premises = Path(os.environ.get("PATHOLOGIES_DATA", "../shared/data")) / "snli" / "s1.dev"
    if not premises.is_file():
        pytest.skip("needs the SNLI premises of $PATHOLOGIES_DATA")
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    train = parse_squad(cloze_squad(premises, 50))
    dev = parse_squad(cloze_squad(premises, 10, skip=400))
    torch.manual_seed(0)
    model = QAModel.load(minilm_path())
    assert evaluate_qa(model, dev)["exact_match"] < 0.2
    finetune_qa(model, train, config=QATrainConfig(epochs=2, batch_size=16, lr=2e-4), log=lambda s: None)
    assert evaluate_qa(model, dev)["exact_match"] >= 0.8
    reds = reduce_questions(model, dev, importance="loo")
    fresh = QAEngine(model)  # an engine that has seen none of the reduction
    for r, sc in zip(reds, fresh.scores([qa_example(r.final, it.context_words, uid=r.uid) for r, it in zip(reds, dev.items)])):
        assert list(sc.span) == r.span
    s = summarize_qa(reds)
    assert s["mean_reduced_length"] < s["mean_original_length"] / 2
    assert s["random_share_span_kept"] < 1.0
    report = entropy_finetune(model, train.items[:48], lam=1.0, importance="gradient", reduce_items=train.items[:48],
                              config=QATrainConfig(epochs=1, batch_size=16, lr=5e-5), log=lambda s: None)
    assert report["reduced_entropy_after"] > report["reduced_entropy_before"]
    print(json.dumps({"summary": s, "entropy": {k: report[k] for k in ("reduced_entropy_before", "reduced_entropy_after")}}))


def test_out_of_memory_halves_the_batch(model, monkeypatch):
    exs = examples()
    expected = [s.span for s in QAEngine(model).scores(exs)]
    engine = QAEngine(model)
    real = model.logits
    ran = []

    def tight(feats, embeds=None):
        if len(feats) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        ran.append(len(feats))
        return real(feats, embeds)

    monkeypatch.setattr(model, "logits", tight)
    assert [s.span for s in engine.scores(exs)] == expected
    assert engine.stats.oom_retries >= 1 and sum(ran) == len(exs) and engine.max_batch <= 2


def test_html_view_of_a_run_and_in_notebooks(tmp_path, qa_dir):
    from typer.testing import CliRunner

    import pathologies.report.qa_view  # noqa: F401  (the view layer registers the notebook displays)
    from pathologies.cli_qa import qa_app

    data = tmp_path / "v2.json"
    data.write_text(json.dumps(squad_doc()))
    runner = CliRunner()
    for verb, extra in (("reduce", ["--importance", "loo"]), ("explain", ["--method", "loo"])):
        assert runner.invoke(qa_app, [verb, str(qa_dir), "--data", str(data), "--out", str(tmp_path / verb), "--device", "cpu", *extra]).exit_code == 0
        res = runner.invoke(qa_app, ["report", str(tmp_path / verb), "--out", str(tmp_path / f"{verb}.html")])
        assert res.exit_code == 0, res.output
        page = (tmp_path / f"{verb}.html").read_text()
        assert page.count('class="example qa"') == 3 and '<mark class="span">' in page and "(unanswerable)" in page
        assert "<script" not in page
    att = explain_qa(load_qa_model(qa_dir), examples()[0], "loo")[0]
    assert '<mark class="span">' in att._repr_html_() and att.words[3] in att._repr_html_()
    res = runner.invoke(qa_app, ["report", str(tmp_path), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "is not a run folder" in res.output


def test_integrated_gradients_add_up_to_the_span_probability_against_the_pad_baseline(model, raw):
    """Completeness, checked on the raw model: the scores sum to p(span | question) minus
    p(span | every question piece replaced by [PAD])."""
    hf, tok = raw
    for ex in examples()[:3]:
        att = explain_qa(model, ex, "integrated-gradients", n_steps=100)[0]
        assert att.target == "span probability" and att.rows == 100
        span = tuple(att.span)
        enc = tok([list(ex.words)], [list(ex.fixed)], is_split_into_words=True, return_tensors="pt")
        seq, wid = enc.sequence_ids(0), enc.word_ids(0)
        baseline = enc["input_ids"].clone()
        for t, s in enumerate(seq):
            if s == 0:
                baseline[0, t] = tok.pad_token_id
        with torch.no_grad():
            out = hf(input_ids=baseline, attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
        valid = torch.tensor([s == 1 for s in seq])
        valid[0] = True
        ls = torch.log_softmax(out.start_logits[0].masked_fill(~valid, -math.inf), -1)
        le = torch.log_softmax(out.end_logits[0].masked_fill(~valid, -math.inf), -1)
        first = next(t for t, (s, w) in enumerate(zip(seq, wid)) if s == 1 and w == span[0])
        last = max(t for t, (s, w) in enumerate(zip(seq, wid)) if s == 1 and w == span[1])
        p_base = float((ls[first] + le[last]).exp())
        assert sum(att.scores) == pytest.approx(att.probability - p_base, abs=2e-4)


def test_empty_inputs_are_clear_errors():
    with pytest.raises(InputError, match="question is empty"):
        qa_example("  ", CONTEXT)
    with pytest.raises(InputError, match="question q9: the context is empty"):
        qa_example("who ?", " ", uid="q9")
