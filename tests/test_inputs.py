"""Every input checked (issue 16): labels mapped onto the model's names, damaged model files,
encodings and CSV/JSONL neighbours, one limit rule, words with no pieces, one-line errors and
plain progress lines off a terminal."""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import pytest

from pathologies import Example, InputError
from pathologies.data import Dataset, DataError, check_limit, load_data, load_dataset, load_file, match_labels
from pathologies.models import DroppedWordsWarning, TextCNN, load_classifier
from tiny_models import make_bert_dir, make_roberta_dir

BINARY = ["negative", "positive"]
NLI = ["entailment", "neutral", "contradiction"]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return make_bert_dir(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def bert(bert_dir):
    return load_classifier(str(bert_dir))


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    return load_classifier(str(make_roberta_dir(tmp_path_factory.mktemp("roberta"))))


@pytest.fixture(scope="module")
def cnn_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cnn") / "m"
    model = TextCNN.create(BINARY, ["<pad>", "<unk>", "<sep>", "the", "movie", "great"], glove=False, seed=0)
    model.inputs = "single"  # as training records it
    model.save(root)
    return root


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``pathologies ARGV`` in process: exit code, stdout, stderr."""
    from pathologies.cli import main

    capsys.readouterr()
    rc = main([*argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- 1. labels map onto the model's label names ---------------------------------------------


def test_file_labels_map_by_model_name_not_sorted_order(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\ngood,positive\nnice,positive\nbad,negative\n")
    assert [ex.label for ex in load_file(path, labels=["positive", "negative"])] == [0, 0, 1]
    only_positive = write(tmp_path / "b.csv", "text,label\ngood,positive\nnice,positive\n")
    as_index = write(tmp_path / "c.csv", "text,label\ngood,1\nnice,1\n")
    # the same file with names or with indices: the same labels (sorted order would make this 0)
    assert [ex.label for ex in load_file(only_positive, labels=BINARY)] == [1, 1]
    assert [ex.label for ex in load_file(as_index, labels=BINARY)] == [1, 1]


def test_case_insensitive_names_json_numbers_and_whitespace(tmp_path):
    path = write(
        tmp_path / "a.jsonl",
        '{"text": "a", "label": "Positive"}\n{"text": "b", "label": " NEGATIVE "}\n{"text": "c", "label": 1.0}\n',
    )
    ds = load_file(path, labels=BINARY)
    assert [ex.label for ex in ds] == [1, 0, 1] and ds.labels == BINARY


def test_a_label_the_model_lacks_lists_both_label_sets(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\ngood,positive\nmeh,neutral\nbad,negative\n")
    with pytest.raises(DataError) as err:
        load_file(path, labels=BINARY)
    message = str(err.value)
    assert "'neutral'" in message and "a.csv:3" in message
    assert "negative, positive" in message and "the file's labels: negative, neutral, positive" in message
    for bad in ("-1", "2", "1.5"):
        write(tmp_path / "b.csv", f"text,label\ngood,{bad}\n")
        with pytest.raises(DataError, match="not one of the model's labels"):
            load_file(tmp_path / "b.csv", labels=BINARY)


def test_three_class_pair_file(tmp_path):
    path = write(
        tmp_path / "nli.tsv",
        "premise\thypothesis\tlabel\nA man sleeps .\tNobody sleeps .\tcontradiction\n"
        "A dog runs .\tAn animal runs .\tEntailment\nA man sleeps .\tHe dreams .\t1\n",
    )
    ds = load_file(path, labels=NLI)
    assert [ex.label for ex in ds] == [2, 0, 1]
    assert ds[0].fixed == ("A", "man", "sleeps", ".") and ds[0].words == ("Nobody", "sleeps", ".")
    with pytest.raises(DataError, match="contradiction"):
        load_file(path, labels=BINARY)


def test_named_data_sets_are_matched_by_name():
    data = Dataset("sst2", "dev", [Example(("a",), 0), Example(("b",), 1)], list(BINARY))
    assert [ex.label for ex in match_labels(data, ["positive", "negative"]).examples] == [1, 0]
    assert [ex.label for ex in match_labels(data, ["NEGATIVE", "POSITIVE"]).examples] == [0, 1]
    # a model whose names say nothing, with as many classes: the data set's order
    assert match_labels(data, ["LABEL_0", "LABEL_1"]).labels == ["LABEL_0", "LABEL_1"]
    with pytest.raises(DataError, match="data set sst2 has labels negative, positive.*entailment"):
        match_labels(data, NLI)
    with pytest.raises(DataError, match="data set sst2"):
        match_labels(data, ["LABEL_0", "LABEL_1", "LABEL_2"])


def test_named_data_set_on_the_wrong_model(shared_data):
    with pytest.raises(DataError, match="data set sst2 has labels negative, positive"):
        load_data("sst2:dev:5", data_dir=shared_data, labels=NLI)
    ds = load_data("sst2:dev:20", data_dir=shared_data, labels=["positive", "negative"])
    plain = load_dataset("sst2", "dev", data_dir=shared_data, limit=20)
    assert [ex.label for ex in ds] == [1 - ex.label for ex in plain]


def test_cli_helper_maps_file_labels_onto_the_model(tmp_path, bert):
    from pathologies.cli_common import _examples

    path = write(tmp_path / "a.csv", "text,label\ngreat fun,class1\nbad,CLASS0\nawful,0\n")
    assert [ex.label for ex in _examples(None, None, str(path), None, None, labels=bert.labels)] == [1, 0, 0]
    assert [ex.label for ex in _examples(None, None, str(path), None, None, labels=lambda: ["class1", "class0"])] == [0, 1, 0]


def test_cli_label_the_model_lacks_is_one_line(tmp_path, bert_dir, capsys):
    path = write(tmp_path / "a.csv", "text,label\nthe movie,class1\nthe film,neutral\n")
    rc, out, err = cli(capsys, "explain", str(bert_dir), "--data", str(path), "--device", "cpu")
    line = one_error_line(err)
    assert rc == 2 and out == "" and "'neutral'" in line and "class0, class1" in line


# --- 2. damaged model files ---------------------------------------------------------------


def _damaged(src: Path, dst: Path, damage) -> Path:
    shutil.copytree(src, dst)
    damage(dst)
    return dst


def _truncate(name):
    def damage(d: Path) -> None:
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])

    return damage


def _edit_json(name, **changes):
    def damage(d: Path) -> None:
        config = json.loads((d / name).read_text())
        config.update(changes)
        (d / name).write_text(json.dumps(config))

    return damage


def _garbage_bin(d: Path) -> None:
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(b"not a checkpoint" * 64)


@pytest.mark.parametrize(
    "damage, names",
    [
        (_truncate("model.safetensors"), "model.safetensors: damaged or truncated"),
        (_garbage_bin, "pytorch_model.bin: not a readable PyTorch checkpoint"),
        (lambda d: [(d / f).unlink() for f in ("tokenizer.json", "vocab.txt", "tokenizer_config.json")], "no tokenizer files"),
        (lambda d: (d / "config.json").write_text("{not json"), "config.json: not valid JSON"),
        (lambda d: (d / "config.json").unlink(), "config.json: missing"),
        (_edit_json("config.json", hidden_size=64, intermediate_size=128), "model.safetensors: the weights do not have the shapes"),
        (lambda d: (d / "tokenizer.json").write_text("{"), "the tokenizer files cannot be read"),
    ],
    ids=["truncated", "garbage-bin", "no-tokenizer", "config-not-json", "no-config", "wrong-shape", "tokenizer-not-json"],
)
def test_damaged_hf_folder_is_one_line_naming_the_file(bert_dir, tmp_path, damage, names):
    folder = _damaged(bert_dir, tmp_path / "m", damage)
    with pytest.raises(InputError) as err:
        load_classifier(str(folder))
    message = str(err.value)
    assert names in message and str(folder) in message and "\n" not in message


@pytest.mark.parametrize(
    "damage, names",
    [
        (_truncate("model.safetensors"), "model.safetensors: damaged or truncated"),
        (lambda d: (d / "model.safetensors").write_bytes(b""), "model.safetensors: damaged or truncated"),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda d: (d / "vocab.json").write_text(json.dumps(["<pad>", "<unk>", "<sep>", "a"])), "embedding.weight has shape [6, 50]"),
        (_edit_json("pathologies.json", labels=NLI), "has shape [2"),
        (lambda d: (d / "pathologies.json").write_text("{"), "pathologies.json: not valid JSON"),
        (lambda d: (d / "vocab.json").write_text('{"a": 1}'), "vocab.json: expected a JSON list"),
        (_edit_json("pathologies.json", family="nosuch"), "unknown model family"),
    ],
    ids=["truncated", "empty", "missing", "vocab-size", "labels", "config-not-json", "vocab-not-list", "family"],
)
def test_damaged_native_folder_is_one_line_naming_the_file(cnn_dir, tmp_path, damage, names):
    folder = _damaged(cnn_dir, tmp_path / "m", damage)
    with pytest.raises(InputError) as err:
        load_classifier(folder)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_cli_damaged_weights_exit_2_with_one_line(bert_dir, tmp_path, capsys):
    folder = _damaged(bert_dir, tmp_path / "m", _truncate("model.safetensors"))
    rc, out, err = cli(capsys, "explain", str(folder), "the movie", "--device", "cpu")
    assert rc == 2 and out == "" and "model.safetensors" in one_error_line(err)


# --- 3. encodings and file neighbours -------------------------------------------------------


def test_latin1_bytes_name_file_line_and_encoding_option(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"text": "ok", "label": 1}\n{"text": "caf\xe9", "label": 0}\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: not valid utf-8.*--encoding latin-1"):
        load_file(path)
    assert load_file(path, encoding="latin-1")[1].words == ("café",)
    csv_path = write(tmp_path / "a.csv", "text,label\nna\u00efve,1\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"a\.csv:2: .*--encoding"):
        load_file(csv_path)
    assert load_file(csv_path, encoding="cp1252")[0].words == ("naïve",)


def test_bom_utf16_and_unknown_codecs(tmp_path):
    bom = write(tmp_path / "bom.csv", "\ufefftext,label\ngood,1\n".encode("utf-8"))
    assert load_file(bom)[0].words == ("good",)  # the header is 'text', not '\ufefftext'
    wide = write(tmp_path / "wide.jsonl", '{"text": "good", "label": 1}\n'.encode("utf-16"))
    with pytest.raises(DataError, match="--encoding utf-16"):
        load_file(wide)
    assert load_file(wide, encoding="utf-16")[0].words == ("good",)
    with pytest.raises(DataError, match="unknown encoding 'nope'"):
        load_file(bom, encoding="nope")


def test_cli_encoding_option(tmp_path, bert_dir, capsys):
    path = write(tmp_path / "a.csv", "text,label\nthe movie \xe9,class1\n".encode("latin-1"))
    rc, _, err = cli(capsys, "explain", str(bert_dir), "--data", str(path), "--device", "cpu")
    assert rc == 2 and "--encoding" in one_error_line(err) and "a.csv:2" in err
    rc, out, err = cli(capsys, "explain", str(bert_dir), "--data", str(path), "--encoding", "latin-1", "--device", "cpu")
    assert rc == 0 and "movie" in out and "error" not in err


def test_quoted_fields_keep_commas_newlines_and_line_numbers(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\n"a, b\nc ""d""",1\n\ngood,0\nbad,\n')
    with pytest.raises(DataError, match=r"a\.csv:6: missing label"):
        load_file(path)
    write(path, 'text,label\n"a, b\nc ""d""",1\n\ngood,0\n')
    ds = load_file(path)
    assert [ex.words for ex in ds] == [("a,", "b", "c", '"d"'), ("good",)]
    assert [ex.uid for ex in ds] == ["a.csv:2", "a.csv:5"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.csv", "premise,label\na man,1\n", "no hypothesis column"),
        ("a.tsv", "hypothesis\tlabel\na man\t1\n", "no premise column"),
        ("a.csv", "", "no text column"),
        ("a.jsonl", "\n\n", "no examples"),
        ("a.csv", "text,label\n", "no examples"),
        ("a.csv", "words,label\nx,1\n", "no text column .* columns: words, label"),
        ("a.csv", "text\nx\n", "no label column"),
        ("a.csv", "text,label\nx,1,2\n", r"a\.csv:2: 3 fields, the header has 2"),
        ("a.jsonl", '{"text": "x", "label": 1}\n[1, 2]\n', r"a\.jsonl:2: expected a JSON object"),
        ("a.jsonl", '"just text"\n', r"a\.jsonl:1: expected a JSON object"),
        ("a.jsonl", '{"text": ["x"], "label": 1}\n', r"a\.jsonl:1: text must be text"),
        ("a.jsonl", '{"text": "x", "label": [1]}\n', r"a\.jsonl:1: label must be a name or an index"),
        ("a.jsonl", '{"text": "x", "label": null}\n', r"a\.jsonl:1: missing label"),
        ("a.jsonl", "[" * 100_000 + "\n", r"a\.jsonl:1: not valid JSON"),
        ("a.jsonl", '{"text": "x", "label": 1, "uid": "u"}\n{"text": "y", "label": 1, "uid": "u"}\n', "uid 'u' is already used on line 1"),
        ("a.jsonl", '{"premise": "a", "hypothesis": "b", "label": 1}\n{"text": "y", "label": 1}\n', r"a\.jsonl:2: no premise and hypothesis"),
        ("a.txt", "text,label\nx,1\n", "a data file is .jsonl, .csv or .tsv"),
    ],
)
def test_file_neighbours_are_one_line_errors(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message) as err:
        load_file(path)
    assert "\n" not in str(err.value)


def test_blank_lines_unicode_separators_and_huge_fields(tmp_path):
    text = "a\u2028b \u0085c"  # split into lines by str.splitlines, not by JSON lines
    path = write(tmp_path / "a.jsonl", "\n" + json.dumps({"text": text, "label": 1}, ensure_ascii=False) + "\n\n \n")
    assert load_file(path)[0].words == tuple(text.split())
    huge = "word " * 60_000
    path = write(tmp_path / "b.csv", f"text,label\n\"{huge}\",1\n")
    assert len(load_file(path)[0].words) == 60_000


def test_pair_file_missing_a_segment_on_one_line(tmp_path):
    path = write(tmp_path / "a.csv", "premise,hypothesis,label\na man,,1\n")
    with pytest.raises(DataError, match=r"a\.csv:2: a sentence pair needs both"):
        load_file(path)


# --- 4. one limit rule ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "0", "-1", "x", ""])
def test_limit_is_a_positive_integer_or_an_error(bad, tmp_path):
    with pytest.raises(DataError, match="positive integer"):
        check_limit(bad)
    path = write(tmp_path / "a.csv", "text,label\na,1\nb,0\n")
    with pytest.raises(DataError, match="positive integer"):
        load_file(path, limit=bad)
    with pytest.raises(DataError, match="positive integer"):
        load_data(str(path), limit=bad)


def test_limit_keeps_the_first_n(tmp_path):
    assert check_limit("3") == 3 and check_limit(None) is None
    path = write(tmp_path / "a.csv", "text,label\na,1\nb,0\nc,1\n")
    assert [ex.words for ex in load_file(path, limit=2)] == [("a",), ("b",)]
    assert len(load_file(path, limit=10)) == 3


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--limit", "-1"], ["--limit", "two"]])
def test_cli_limit_rejected_in_one_line(argv, tmp_path, bert_dir, capsys):
    path = write(tmp_path / "a.csv", "text,label\na,1\nb,0\n")
    rc, out, err = cli(capsys, "explain", str(bert_dir), "--data", str(path), *argv)
    assert rc == 2 and out == "" and "--limit must be a positive integer" in one_error_line(err)


def test_cli_spec_limit_rejected(bert_dir, capsys):
    rc, _, err = cli(capsys, "reduce", str(bert_dir), "--data", "sst2:dev:0")
    assert rc == 2 and "positive integer" in one_error_line(err)
    rc, _, err = cli(capsys, "train", "textcnn", "--out", "unused", "--limit", "-1")
    assert rc == 2 and "--limit must be a positive integer" in one_error_line(err)


# --- 5. words with no pieces ----------------------------------------------------------------


def test_bert_drops_words_with_no_pieces_with_one_warning(bert):
    ex = Example(("the", "\u200b", "movie", "\x00"), label=1, tags=(1, 2, 3, 4), uid="u7")
    with pytest.warns(DroppedWordsWarning) as caught:
        fitted = bert.fit_to_limit(ex)
    assert len(caught) == 1
    assert "u7" in str(caught[0].message) and "'\\u200b'" in str(caught[0].message) and "'\\x00'" in str(caught[0].message)
    assert fitted.words == ("the", "movie") and fitted.tags == (1, 3) and fitted.label == 1
    with pytest.raises(InputError, match="none of its words"):
        bert.fit_to_limit(Example(("\u200b",)))
    with pytest.raises(InputError, match="fixed segment"):
        bert.fit_to_limit(Example(("movie",), fixed=("\u200b",)))


def test_roberta_drops_a_zero_width_space_as_every_family_does(roberta):
    ex = Example(("the", "\u200b", "movie"))
    assert roberta.n_tokens(Example(("\u200b",))) > roberta.n_tokens(Example(()))  # byte-level BPE gives it pieces
    with pytest.warns(DroppedWordsWarning, match="dropped 1 word"):
        assert roberta.fit_to_limit(ex).words == ("the", "movie")  # but the one rule drops it
    with pytest.warns(DroppedWordsWarning, match="dropped 1 word"):
        assert roberta.fit_to_limit(Example(("the", "", "movie"))).words == ("the", "movie")


def test_explained_words_all_have_pieces_and_reduction_keeps_one_word(bert):
    from pathologies.explain import explain
    from pathologies.reduction import reduce_inputs

    with pytest.warns(DroppedWordsWarning):
        att = explain(bert, Example.from_text("the \u200b movie"), method="gradient")[0]
    assert list(att.words) == ["the", "movie"]
    with pytest.raises(InputError, match="none of its words"):
        explain(bert, "\u200b", method="loo")
    assert len(reduce_inputs(bert, ["movie"])[0].final) == 1
    with pytest.warns(DroppedWordsWarning):
        assert len(reduce_inputs(bert, ["movie \u200b"])[0].final) == 1


def test_cli_zero_width_only_text_is_one_line(bert_dir, capsys):
    rc, out, err = cli(capsys, "explain", str(bert_dir), "\u200b", "--device", "cpu")
    assert rc == 2 and out == "" and "none of its words" in one_error_line(err)


# --- 7. one-line errors, plain warnings, progress off a terminal ---------------------------


def test_usage_errors_are_one_line(capsys):
    for argv in (["explain"], ["explain", "m", "--nosuch"], ["nosuch-command"], ["reduce", "m", "t", "--beam", "x"]):
        rc, out, err = cli(capsys, *argv)
        assert rc == 2 and out == "", argv
        one_error_line(err)


def test_long_errors_and_warnings_are_not_wrapped(capsys):
    from pathologies.cli import _fail, _show_warnings

    long = "word " * 80 + "[PAD]\nsecond line"
    with pytest.raises(Exception):
        _fail(long)
    line = one_error_line(capsys.readouterr().err)
    assert line.endswith("[PAD] second line")
    with warnings.catch_warnings():
        _show_warnings()
        warnings.warn(long)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ") and "[PAD]" in err


def test_progress_lines_off_a_terminal(monkeypatch):
    from pathologies.progress import progress_bar, progress_mode

    monkeypatch.delenv("PATHOLOGIES_PROGRESS", raising=False)
    stream = io.StringIO()
    assert progress_mode(stream) == "lines"
    with progress_bar("audit", 50, stream=stream) as advance:
        for _ in range(4):
            advance(1)
        assert stream.getvalue() == ""  # nothing before the first tenth
        for _ in range(46):
            advance(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("audit: 5/50 (10%)") and lines[-1].startswith("audit: 50/50 (100%)")
    monkeypatch.setenv("PATHOLOGIES_PROGRESS", "off")
    quiet = io.StringIO()
    with progress_bar("audit", 5, stream=quiet) as advance:
        advance(5)
    assert quiet.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("PATHOLOGIES_PROGRESS")
    assert progress_mode(Terminal()) == "bar"


def test_data_run_error_has_no_progress_before_it(tmp_path, bert_dir, capsys):
    path = write(tmp_path / "a.jsonl", "".join(json.dumps({"text": f"the movie {i}", "label": 1}) + "\n" for i in range(30)))
    rc, out, err = cli(capsys, "explain", str(bert_dir), "--data", str(path), "--method", "nosuch", "--device", "cpu")
    assert rc == 2 and out == ""
    one_error_line(err)


# --- issue 26: single sentences vs pairs; one rule for invisible words -----------------------


def _native_dir(root: Path, inputs: str | None) -> Path:
    model = TextCNN.create(BINARY, ["<pad>", "<unk>", "<sep>", "the", "movie", "great", "fun"], glove=False, seed=0)
    model.inputs = inputs
    model.save(root)
    return root


def test_training_records_single_or_pairs_and_a_mismatch_is_one_line(tmp_path):
    from pathologies.models.inputs import InputKindWarning
    from pathologies.training.loop import TrainConfig, fit

    pairs = [Example(("great", "fun"), label=i % 2, fixed=("the", "movie"), uid=f"p{i}") for i in range(4)]
    model = TextCNN.create(BINARY, ["<pad>", "<unk>", "<sep>", "the", "movie", "great", "fun"], glove=False, seed=0)
    fit(model, pairs, pairs, TrainConfig(epochs=1, batch_size=4), log=lambda _: None, show_progress=False)
    model.save(tmp_path / "nli")
    assert json.loads((tmp_path / "nli" / "pathologies.json").read_text())["inputs"] == "pairs"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a recorded kind: no warning at load
        nli = load_classifier(str(tmp_path / "nli"))
    assert nli.fit_to_limit(pairs[0]) == pairs[0]
    with pytest.raises(InputError, match=r"input #0 is a single sentence, but the model was trained on sentence pairs"):
        nli.fit_to_limit(Example(("great", "fun"), uid="#0"))
    sst = load_classifier(str(_native_dir(tmp_path / "sst", "single")))
    with pytest.raises(InputError, match="is a sentence pair, but the model was trained on single sentences"):
        sst.fit_to_limit(pairs[1])
    with pytest.raises(InputError, match="mixes single sentences and sentence pairs"):
        fit(model, pairs + [Example(("fun",), label=0)], pairs, TrainConfig(epochs=1), log=lambda _: None, show_progress=False)
    # An old folder without the field: both kinds accepted, one warning at load.
    with pytest.warns(InputKindWarning, match="does not say whether the model was trained on single sentences or pairs"):
        old = load_classifier(str(_native_dir(tmp_path / "old", None)))
    assert old.fit_to_limit(pairs[0]) == pairs[0]
    cfg = tmp_path / "old" / "pathologies.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "inputs": "both"}))
    with pytest.raises(InputError, match='"inputs" must be "single" or "pairs"'):
        load_classifier(str(tmp_path / "old"))


@pytest.mark.parametrize("verb", ["explain", "reduce", "check"])
def test_cli_pair_to_a_single_sentence_model_and_the_reverse_are_one_line(tmp_path, capsys, verb):
    sst = _native_dir(tmp_path / "sst", "single")
    nli = _native_dir(tmp_path / "nli", "pairs")
    extra = ["--methods", "gradient", "--beam", "0"] if verb == "check" else []
    rc, out, err = cli(capsys, verb, str(sst), "--pair", "the movie", "--pair", "great fun", "--device", "cpu", *extra)
    assert rc == 2 and "trained on single sentences" in one_error_line(err)
    rc, out, err = cli(capsys, verb, str(nli), "the movie was great", "--device", "cpu", *extra)
    assert rc == 2 and "trained on sentence pairs" in one_error_line(err)
    data = write(tmp_path / "pairs.jsonl", json.dumps({"premise": "the movie", "hypothesis": "great fun", "label": 1}) + "\n")
    rc, out, err = cli(capsys, verb, str(sst), "--data", str(data), "--device", "cpu", "--out", str(tmp_path / "run"), *extra)
    assert rc == 2 and "trained on single sentences" in one_error_line(err)
    assert not (tmp_path / "run" / "records").exists() or not any((tmp_path / "run" / "records").iterdir())


def test_audit_of_a_pair_file_on_a_single_sentence_model_is_refused(tmp_path, capsys):
    sst = _native_dir(tmp_path / "sst", "single")
    data = write(tmp_path / "pairs.csv", "premise,hypothesis,label\nthe movie,great fun,positive\n")
    rc, out, err = cli(capsys, "audit", str(sst), "--data", str(data), "--device", "cpu", "--out", str(tmp_path / "run"))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert rc == 2 and len(errors) == 1 and errors[0] == err.splitlines()[-1], err
    assert "input pairs.csv:2 is a sentence pair, but the model was trained on single sentences" in errors[0]


INVISIBLE = ["\u200b", "\u2060", "\ufeff", "\u00ad", "\u200d\u200c", "\x07", "\u200e", "\ufe0f", "\ufffd", "\x00\u200b"]


@pytest.mark.parametrize("word", INVISIBLE)
def test_native_models_drop_invisible_words_as_the_hf_models_do(cnn_dir, bert, word):
    cnn = load_classifier(str(cnn_dir))
    ex = Example(("the", word, "movie"), uid="u1")
    for model in (cnn, bert):
        with pytest.warns(DroppedWordsWarning, match=r"input u1: dropped 1 word that becomes no token of the model"):
            assert model.fit_to_limit(ex).words == ("the", "movie")
    with pytest.raises(InputError, match="none of its words"):
        cnn.fit_to_limit(Example((word, word)))


def test_native_invisible_only_text_is_the_same_error_as_on_minilm(cnn_dir, bert_dir, capsys):
    for model in (cnn_dir, bert_dir):
        rc, out, err = cli(capsys, "explain", str(model), "\u200b \u2060\ufeff", "--device", "cpu")
        assert rc == 2 and out == "" and "none of its words" in one_error_line(err), model
    cnn = load_classifier(str(cnn_dir))
    # a visible word with a zero-width character in it reads as the word, as WordPiece reads it
    assert cnn.predict_proba([Example(("the", "great\u200b"))]).tolist() == cnn.predict_proba([Example(("the", "great"))]).tolist()


# --- issue 26 item 7: damaged --mlm / --index folders, --target in any case ----------------------


def _mlm_dir(root: Path) -> Path:
    from transformers import BertConfig, BertForMaskedLM

    from pathologies.models.hf import load_tokenizer

    make_bert_dir(root)
    tok = load_tokenizer(str(root))
    BertForMaskedLM(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=16, max_position_embeddings=64)).save_pretrained(root)
    return root


@pytest.mark.parametrize("damage, names", [
    (lambda d: (d / "config.json").write_text("{not json"), "config.json: not valid JSON"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:300]), "model.safetensors"),
    (lambda d: (d / "model.safetensors").write_bytes(b"x" * 1000), "model.safetensors"),
    (lambda d: (d / "model.safetensors").unlink(), "the model cannot be loaded"),
    (lambda d: (d / "tokenizer.json").write_text("{oops"), "the tokenizer files cannot be read"),
    (lambda d: (d / "config.json").unlink(), "no config.json"),
])
def test_damaged_mlm_folder_is_one_line_naming_the_file(tmp_path_factory, tmp_path, damage, names):
    from pathologies.models.mlm import load_mlm

    good = tmp_path_factory.getbasetemp() / "good-mlm"
    if not good.exists():
        _mlm_dir(good)
    load_mlm(str(good))
    bad = tmp_path / "mlm"
    shutil.copytree(good, bad)
    damage(bad)
    with pytest.raises(InputError) as err:
        load_mlm(str(bad))
    assert names in str(err.value) and len(str(err.value).splitlines()) == 1


def test_a_classifier_folder_given_as_masked_lm_is_refused(bert_dir):
    from pathologies.models.mlm import load_mlm

    with pytest.raises(InputError, match="no masked-LM head"):  # its head would be random: silently wrong
        load_mlm(str(bert_dir))


@pytest.mark.parametrize("damage, names", [
    (lambda d: (d / "dknn.json").write_text("{x"), "dknn.json: not valid JSON"),
    (lambda d: (d / "dknn.json").write_text("[]"), "dknn.json: expected a JSON object"),
    (lambda d: (d / "dknn.json").write_text(json.dumps({k: v for k, v in json.loads((d / "dknn.json").read_text()).items() if k != "dims"})), "no entry 'dims'"),
    (lambda d: [f.write_bytes(f.read_bytes()[:50]) for f in d.glob("*.faiss")], "layer_0.faiss: not a readable faiss index"),
    (lambda d: [f.unlink() for f in d.glob("*.faiss")], "layer_0.faiss: missing"),
    (lambda d: (d / "train_labels.npy").write_bytes(b"garbage"), "train_labels.npy: not a readable NumPy array"),
    (lambda d: (d / "train_labels.npy").unlink(), "train_labels.npy: missing"),
])
def test_damaged_index_folder_is_one_line_naming_the_file(tmp_path, damage, names):
    from pathologies.dknn import DkNN
    from tiny_models import make_bow

    model = make_bow()
    exs = [Example.from_text(t, label=i % 2) for i, t in enumerate(["the movie was great fun", "bad boring movie", "great fun"])]
    DkNN(k=1).fit(model, exs).calibrate(model, exs).save(tmp_path / "idx")
    damage(tmp_path / "idx")
    with pytest.raises(InputError) as err:
        DkNN.load(tmp_path / "idx")
    assert names in str(err.value) and len(str(err.value).splitlines()) == 1


def test_target_matches_label_names_in_any_case_as_data_labels_do(tmp_path):
    from pathologies.audit import AuditSpec, audit
    from pathologies.explain import explain

    model = load_classifier(str(_native_dir(tmp_path / "sst", "single")))
    for given in ("positive", "POSITIVE", "Positive", "1", 1):
        assert explain(model, "the movie", target=given)[0].target == 1
    with pytest.raises(InputError, match=r"--target '7' is not one of the model's labels: negative, positive"):
        explain(model, "the movie", target="7")
    with pytest.raises(InputError, match="--target 'neutral' is not one of the model's labels"):
        explain(model, "the movie", target="neutral")
    spec = lambda t: AuditSpec(methods=["gradient"], metrics=[], reduce=None, target=t, curves=False, show=0)
    run = audit(model, ["the movie", "great fun"], tmp_path / "run", spec=spec("POSITIVE"), show_progress=False)
    assert {a.target for a in run.attributions()} == {1} and run.manifest["spec"]["target"] == 1
    audit(model, ["the movie", "great fun"], tmp_path / "run", spec=spec("positive"), show_progress=False)  # the same run
    with pytest.raises(InputError, match="--target 'nope'"):
        audit(model, ["the movie"], tmp_path / "other", spec=spec("nope"), show_progress=False)
    assert not (tmp_path / "other").exists()  # refused before the folder is made


def _train_file(path: Path, n: int = 30, pairs: bool = False) -> Path:
    rows = []
    for i in range(n):
        if pairs:
            rows.append({"premise": "the movie", "hypothesis": "great fun" if i % 2 else "bad movie", "label": ["negative", "POSITIVE"][i % 2]})
        else:
            rows.append({"text": "great fun movie" if i % 2 else "bad boring movie", "label": ["negative", "POSITIVE"][i % 2]})
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


def test_train_data_file_fine_tunes_a_model_trained_here_labels_by_name(tmp_path, capsys):
    base = _native_dir(tmp_path / "base", "single")  # labels negative, positive; no GloVe needed
    data = _train_file(tmp_path / "mine.jsonl")
    rc, out, err = cli(capsys, "train", str(base), "--data", str(data), "--out", str(tmp_path / "tuned"), "--epochs", "2",
                       "--batch-size", "8", "--device", "cpu")
    assert rc == 0, err
    assert "mine.jsonl (seeded 10% held out) accuracy" in " ".join(out.split())
    cfg = json.loads((tmp_path / "tuned" / "pathologies.json").read_text())
    assert cfg["labels"] == BINARY and cfg["inputs"] == "single"  # the model's own labels; the file's matched by name
    metrics = json.loads((tmp_path / "tuned" / "train_metrics.json").read_text())
    assert metrics["n_train"] == 27 and metrics["n_eval"] == 3
    # an evaluation file, a pair file on a single-sentence model, labels the model lacks: one line each
    evalf = _train_file(tmp_path / "dev.jsonl", 4)
    rc, out, err = cli(capsys, "train", str(base), "--data", str(data), "--eval-split", str(evalf), "--out",
                       str(tmp_path / "t2"), "--epochs", "1", "--device", "cpu")
    assert rc == 0 and json.loads((tmp_path / "t2" / "train_metrics.json").read_text())["n_eval"] == 4
    rc, out, err = cli(capsys, "train", str(base), "--data", str(_train_file(tmp_path / "p.jsonl", pairs=True)),
                       "--out", str(tmp_path / "t3"), "--epochs", "1", "--device", "cpu")
    assert rc == 2 and "trained on single sentences; the training data has sentence pairs" in one_error_line(err)
    write(tmp_path / "odd.csv", "text,label\ngreat,positive\nbad,neutral\n")
    rc, out, err = cli(capsys, "train", str(base), "--data", str(tmp_path / "odd.csv"), "--out", str(tmp_path / "t4"),
                       "--epochs", "1", "--device", "cpu")
    assert rc == 2 and "label 'neutral'" in one_error_line(err)
    assert not (tmp_path / "t3").exists() and not (tmp_path / "t4").exists()


def test_train_textcnn_on_a_pair_file_records_pairs(tmp_path, capsys):
    data = _train_file(tmp_path / "nli.jsonl", 20, pairs=True)
    rc, out, err = cli(capsys, "train", "textcnn", "--data", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
                       "--batch-size", "8", "--device", "cpu")
    assert rc == 0, err
    cfg = json.loads((tmp_path / "m" / "pathologies.json").read_text())
    assert cfg["labels"] == ["negative", "POSITIVE"] and cfg["inputs"] == "pairs"
    rc, out, err = cli(capsys, "explain", str(tmp_path / "m"), "great fun", "--device", "cpu")
    assert rc == 2 and "trained on sentence pairs" in one_error_line(err)
    rc, out, err = cli(capsys, "explain", str(tmp_path / "m"), "--pair", "the movie", "--pair", "great fun", "--target",
                       "positive", "--device", "cpu")
    assert rc == 0, err


def test_hf_models_record_inputs_in_config_and_the_rule_says_what_can_be_known(bert_dir, tmp_path):
    """HF: training records the kind in config.json; with it a mismatch is refused, without it
    a pair is accepted with one warning per model saying why it cannot be known."""
    from pathologies.models.inputs import InputKindWarning, check_input, pair_template, record_inputs, trained_inputs

    pair, single = Example(("great",), fixed=("the", "movie"), uid="p"), Example(("great",), uid="s")
    model = load_classifier(str(bert_dir))
    assert trained_inputs(model) is None and pair_template(model) is True  # BERT: [CLS] a [SEP] b [SEP]
    check_input(model, single)
    with pytest.warns(InputKindWarning, match="its tokenizer can encode pairs, but whether the classifier was trained on them cannot be known"):
        check_input(model, pair)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_input(model, pair)  # once per model
    record_inputs(model, [pair])
    model.save(str(tmp_path / "nli"))
    assert json.loads((tmp_path / "nli" / "config.json").read_text())["pathologies_inputs"] == "pairs"
    nli = load_classifier(str(tmp_path / "nli"))
    assert trained_inputs(nli) == "pairs"
    with pytest.raises(InputError, match="input s is a single sentence, but the model was trained on sentence pairs"):
        check_input(nli, single)


def test_an_hf_model_that_records_its_inputs_refuses_the_other_kind(tmp_path):
    """The check is in the protocol's fit_to_limit, so HF models apply it as native ones do."""
    import json as _json

    from pathologies.models import load_classifier

    root = make_bert_dir(tmp_path / "single")
    config = _json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(_json.dumps({**config, "pathologies_inputs": "single"}))
    model = load_classifier(str(root))
    assert model.fit_to_limit(Example(("the", "movie"))).words == ("the", "movie")
    with pytest.raises(InputError, match="is a sentence pair, but the model was trained on"):
        model.fit_to_limit(Example.pair("a man sleeps", "nobody sleeps"))
