"""Property-based: random unicode, empty and huge segments, odd label columns and damaged files
through the command line (in process, ``pathologies.cli.main``) and the Python API.

Whatever the input: never a traceback, never an unexpected error (exit 1); bad input is exit 2
with exactly one ``error:`` line on stderr and nothing on stdout; good input gives what an
independent reading of the rules expects (labels by the model's names, then any case, then
index).
"""

from __future__ import annotations

import csv
import os
import re
import io
import json
import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathologies import Example, InputError
from pathologies.data import DataError, load_file
from pathologies.models import TextCNN, load_classifier
from tiny_models import make_bert_dir

LABELS = ["class0", "class1"]
FAST = settings(
    max_examples=int(os.environ.get("PATHOLOGIES_PROPERTY_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Characters that stress splitting, quoting and tokenizing: separators, quotes, zero-width and
# control characters, combining marks, line separators JSON keeps but str.splitlines splits on.
ODD = " \t\n\r,;\"'\\\u200b\u00ad\ufeff\x00\x1c\u2028\u0085\u0301é漢🙂-"
WORDS = st.sampled_from(["the", "movie", "great", "fun", "un##", "Nobody", "-x", "--", "\u200b", "é"])
TEXT = st.one_of(
    st.text(min_size=0, max_size=30),
    st.text(alphabet=st.sampled_from(list(ODD) + list("abc ")), max_size=20),
    st.lists(WORDS, max_size=8).map(" ".join),
    st.integers(200, 3000).map(lambda n: "movie " * n),  # huge: cut to the model's limit
)
LABEL = st.sampled_from(["class0", "class1", "CLASS1", " class0 ", "0", "1", "1.0", "-1", "2", "neutral", "", "Class0"])


def expected_label(raw: str) -> int | None:
    """The rule, written again: exact name, name in any case (unique), index in range."""
    raw = raw.strip()
    if raw in LABELS:
        return LABELS.index(raw)
    folded = [i for i, n in enumerate(LABELS) if n.lower() == raw.lower()]
    if len(folded) == 1:
        return folded[0]
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if value.is_integer() and 0 <= value < len(LABELS) and "e" not in raw.lower() else None


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return make_bert_dir(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def bert(bert_dir):
    return load_classifier(str(bert_dir))


@pytest.fixture(scope="module")
def cnn_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cnn") / "m"
    TextCNN.create(LABELS, ["<pad>", "<unk>", "<sep>", "the", "movie", "great"], glove=False, seed=0).save(root)
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    from pathologies.cli import main

    capsys.readouterr()
    with warnings.catch_warnings():
        rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    assert rc in (0, 2), (rc, err)  # 1 would be an unexpected error
    if rc == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > 12, err
        assert out == "", out
    else:
        assert all(line.startswith("warning: ") for line in err.splitlines()), err
    return rc, out, err


# --- random text through the CLI and the API -----------------------------------------------


@FAST
@given(text=TEXT, premise=st.one_of(st.none(), TEXT))
def test_random_text_never_crashes(bert_dir, bert, capsys, text, premise):
    from pathologies.explain import explain

    argv = ["explain", str(bert_dir), "--device", "cpu"]
    argv += ["--pair", premise, "--pair", text] if premise is not None else ["--", text]
    rc, out, err = run_cli(capsys, *argv)
    try:  # the API's answer decides what the command must do
        example = Example.from_text(text) if premise is None else Example.pair(premise, text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            att = explain(bert, example, method="gradient")[0]
    except InputError as e:
        same = lambda m: re.sub(r"input \S+?:? ", "input X ", " ".join(m.split()))  # noqa: E731  (#0 or the text)
        assert rc == 2 and same(str(e)) in same(err)
        return
    if premise is not None and premise.startswith("-"):
        return  # "--pair -x" reads -x as an option name: a usage error is right too
    assert rc == 0 and out.strip()
    assert att.words and all(bert.pieceless([w]) == [] for w in att.words)


# --- random data files -----------------------------------------------------------------------

ROW = st.tuples(TEXT, TEXT, LABEL)


SENTENCE = st.lists(WORDS.filter(lambda w: w not in ("\u200b", "--", "-x")), min_size=1, max_size=6).map(" ".join)
GOOD_LABEL = st.sampled_from(["class0", "class1", "CLASS1", " class0 ", "0", "1", "1.0", "Class0"])
GOOD_ROW = st.tuples(SENTENCE, SENTENCE, GOOD_LABEL)


@st.composite
def data_files(draw):
    fmt = draw(st.sampled_from(["jsonl", "csv", "tsv"]))
    pair = draw(st.booleans())
    good = draw(st.booleans())  # half the files are well formed: their labels are checked exactly
    rows = draw(st.lists(GOOD_ROW if good else ROW, min_size=1 if good else 0, max_size=6))
    text_column = draw(st.sampled_from(["text", "sentence", "Text"]))
    columns = ["premise", "hypothesis", "label"] if pair else [text_column, "label"]
    odd_columns = st.one_of(st.just(columns[:-1]), st.just(["words", "label"]))
    columns = draw(st.permutations(columns) if good else st.one_of(st.just(columns), st.permutations(columns), odd_columns))
    records = [dict(zip(["premise", "hypothesis", "label"] if pair else [text_column, "label"], (p, h, y) if pair else (h, y))) for p, h, y in rows]
    if fmt == "jsonl":
        body = "".join(json.dumps({k: v for k, v in r.items() if k in columns}, ensure_ascii=draw(st.booleans())) + "\n" for r in records)
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        writer.writerow(columns)
        for r in records:
            writer.writerow([r.get(c, "") for c in columns])
        body = buf.getvalue()
    data = body.encode("utf-8")
    damages = ["none", "bom", "blank"] if good else ["none", "none", "bom", "latin1", "truncate", "blank", "garbage"]
    damage = draw(st.sampled_from(damages))
    if damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "latin1":
        data = data + "caf\u00e9,1\n".encode("latin-1")
    elif damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "blank":
        data = data.replace(b"\n", b"\n\n", 1) + b"\n \n"
    elif damage == "garbage":
        data = draw(st.binary(max_size=200))
    limit = draw(st.one_of(st.none(), st.integers(1 if good else -2, 7)))
    return fmt, columns, pair, rows, damage, data, limit, good


@FAST
@given(spec=data_files())
def test_random_data_files_never_crash(tmp_path_factory, bert_dir, bert, capsys, spec):
    fmt, columns, pair, rows, damage, data, limit, good = spec
    path = tmp_path_factory.mktemp("f") / f"data.{fmt}"
    path.write_bytes(data)
    try:
        ds = load_file(path, labels=bert, limit=limit)
    except DataError as err:
        message = str(err)
        assert "\n" not in message and message
        ds = None
        assert not good, message
    argv = ["explain", str(bert_dir), "--data", str(path), "--device", "cpu"]
    rc, out, err = run_cli(capsys, *argv, *(["--limit", str(limit)] if limit is not None else []))
    if ds is None:
        assert rc == 2
        assert ("--limit must be a positive integer" in err) if message.startswith("limit") else (" ".join(message.split()) in err)
        return
    if rc == 2:  # loaded: only an example left without words, or with too long a fixed segment, fails
        assert ("none of its" in err and "becomes a token" in err) or "shorten the fixed segment" in err
    # a clean file: the labels are what the rules say, in order, and the first N rows only
    if good:
        assert rc == 0 and out.strip()
        kept = [r for r in rows if fmt == "jsonl" or any(f.strip() for f in ((r[0], r[1], r[2]) if pair else (r[1], r[2])))]
        kept = kept[: limit or None]
        assert [ex.label for ex in ds] == [expected_label(y) for _, _, y in kept]
        assert [ex.words for ex in ds] == [tuple(h.split()) for _, h, _ in kept]
        assert ds.labels == LABELS


# --- damaged model folders ---------------------------------------------------------------------


@st.composite
def damages(draw, files):
    ops = []
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(files))
        op = draw(st.sampled_from(["truncate", "overwrite", "delete", "empty", "json"]))
        ops.append((name, op, draw(st.floats(0, 1)), draw(st.binary(min_size=1, max_size=64))))
    return ops


def apply(folder: Path, ops) -> None:
    for name, op, where, junk in ops:
        path = folder / name
        if not path.exists():
            continue
        data = path.read_bytes()
        at = int(where * len(data))
        if op == "truncate":
            path.write_bytes(data[:at])
        elif op == "overwrite":
            path.write_bytes(data[:at] + junk + data[at + len(junk) :])
        elif op == "delete":
            path.unlink()
        elif op == "empty":
            path.write_bytes(b"")
        else:
            path.write_text(json.dumps([1, {"labels": None}]))


HF_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
NATIVE_FILES = ["pathologies.json", "vocab.json", "model.safetensors"]


@FAST
@given(family=st.sampled_from(["hf", "native"]), data=st.data())
def test_damaged_model_folders_never_crash(tmp_path_factory, bert_dir, cnn_dir, capsys, family, data):
    src, files = (bert_dir, HF_FILES) if family == "hf" else (cnn_dir, NATIVE_FILES)
    ops = data.draw(damages(files))
    folder = tmp_path_factory.mktemp("damaged") / "m"
    shutil.copytree(src, folder)
    apply(folder, ops)
    try:
        model = load_classifier(str(folder))
    except InputError as err:
        assert "\n" not in str(err) and str(folder) in str(err)
        model = None
    rc, out, err = run_cli(capsys, "explain", str(folder), "--device", "cpu", "--", "the movie was great")
    if model is None:
        assert rc == 2
    else:
        assert rc == 0 and out.strip()
