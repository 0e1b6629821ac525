"""Tests of pathologies.data: the shared data folder, bad input, the tree parser, the hub path."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathologies.data import (
    DATASETS,
    DataError,
    Dataset,
    DatasetInfo,
    load_dataset,
    parse_spec,
    resolve_data_dir,
)
from pathologies.data.sst import Tree, parse_tree, unescape, words_and_tags
from pathologies.text import Example, InputError


@pytest.fixture
def data_dir(shared_data: Path) -> Path:
    """The real data folder (``shared_data`` in conftest.py skips when it is absent)."""
    return shared_data


@pytest.fixture
def no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATHOLOGIES_DATA", raising=False)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


# --- the real data folder -----------------------------------------------------------

SIZES = [
    ("sst2", "train", 6920),
    ("sst2", "dev", 872),
    ("sst2", "test", 1821),
    ("sst5", "train", 8544),
    ("sst5", "dev", 1101),
    ("sst5", "test", 2210),
    ("sst2-phrases", "train", 77616),
    ("mr", "train", 9595),
    ("mr", "test", 1067),
    ("mr", "dev", 1067),
    ("snli", "dev", 9842),
    ("snli", "test", 9824),
    ("agnews", "train", 6080),
    ("agnews", "dev", 760),
    ("agnews", "test", 760),
]


@pytest.mark.parametrize("name,split,n", SIZES)
def test_split_sizes(data_dir: Path, name: str, split: str, n: int) -> None:
    ds = load_dataset(name, split, data_dir=data_dir, source="local")
    assert len(ds) == n
    assert ds.labels == DATASETS[name].labels
    assert all(isinstance(ex, Example) and ex.words for ex in ds)
    assert {ex.label for ex in ds} == set(range(len(ds.labels)))
    uids = [ex.uid for ex in ds]
    assert len(set(uids)) == n and all(uid.startswith(f"{name}:{ds.split}:") for uid in uids)
    # Every split comes in a mixed order (the SST files are sorted by sentiment).
    assert {ex.label for ex in ds[:100]} == set(range(len(ds.labels)))


def test_default_split_limit_and_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHOLOGIES_DATA", str(data_dir))
    ds = load_dataset("sst2", limit=5)  # source "auto" -> local, because the env var is set
    assert (ds.split, len(ds)) == ("dev", 5)
    assert ds[:] == load_dataset("sst2", "dev")[:5]
    assert load_dataset("snli", limit=3).split == "test"
    assert load_dataset("mr", "dev", limit=3).split == "test"  # 'dev' names the held-out 10%


def test_dataset_is_list_like(data_dir: Path) -> None:
    ds = load_dataset("snli", "dev", data_dir=data_dir, limit=10)
    assert isinstance(ds, Dataset) and ds.is_pair
    assert len(ds) == 10 and list(ds) == ds.examples
    assert ds[0] is ds.examples[0] and ds[-1] is ds.examples[9]
    assert isinstance(ds[2:5], list) and ds[2:5] == ds.examples[2:5]
    assert "n=10" in repr(ds) and "words" not in repr(ds)
    assert not load_dataset("sst2", "dev", data_dir=data_dir, limit=1).is_pair


def test_sst_tags_and_escapes(data_dir: Path) -> None:
    for name in ("sst2", "sst5"):
        for split in ("train", "dev", "test"):
            for ex in load_dataset(name, split, data_dir=data_dir):
                assert ex.tags is not None and len(ex.tags) == len(ex.words)
                assert set(ex.tags) <= set(range(5))
    # Sentence uids keep the line of the tree.
    raw = _lines(data_dir / "sst" / "dev.txt")
    i = next(i for i, line in enumerate(raw) if "-LRB-" in line)
    dev = load_dataset("sst5", "dev", data_dir=data_dir)
    ex = next(ex for ex in dev if ex.uid == f"sst5:dev:{i}")
    assert "(" in ex.words and "-LRB-" not in ex.words
    assert ex.label == parse_tree(raw[i]).label
    train = load_dataset("sst5", "train", data_dir=data_dir)
    words = {w for ex in train for w in ex.words}
    assert not any("-LRB-" in w or "-RRB-" in w or "\\/" in w or "\\*" in w for w in words)
    assert any("/" in w for w in words)
    # A leaf holding a non-breaking space ("8\xa01\/2") becomes two words with its tag.
    ex = next(ex for ex in train if "1/2" in ex.words)
    j = ex.words.index("1/2")
    assert ex.words[j - 1].isdigit() and ex.tags[j - 1] == ex.tags[j]


def test_sst2_phrases(data_dir: Path) -> None:
    ds = load_dataset("sst2-phrases", data_dir=data_dir)
    assert ds.split == "train"
    assert len({ex.words for ex in ds}) == len(ds)  # deduplicated
    assert all(ex.tags is not None and len(ex.tags) == len(ex.words) for ex in ds)
    sentences = load_dataset("sst2", "train", data_dir=data_dir)
    phrase_labels = {ex.words: ex.label for ex in ds}
    # Every binary train sentence is itself a phrase (a root node), with the same label.
    assert all(phrase_labels.get(ex.words) == ex.label for ex in sentences)


def test_snli_fixed_segment_is_premise(data_dir: Path) -> None:
    ds = load_dataset("snli", "dev", data_dir=data_dir)
    s1, s2 = _lines(data_dir / "snli" / "s1.dev"), _lines(data_dir / "snli" / "s2.dev")
    labels = _lines(data_dir / "snli" / "labels.dev")
    for i in (0, 1, 4567, len(ds) - 1):
        ex = ds[i]
        assert ex.fixed == tuple(s1[i].split()) and ex.words == tuple(s2[i].split())
        assert ex.fixed_first and ex.segments() == (ex.fixed, ex.words)
        assert ds.labels[ex.label] == labels[i]
    info = DATASETS["snli"]
    assert (info.train_split, info.eval_split, info.is_pair) == ("dev", "test", True)


def test_agnews_stratified_and_clean(data_dir: Path) -> None:
    parts = {s: load_dataset("agnews", s, data_dir=data_dir) for s in ("train", "dev", "test")}
    assert parts["dev"].labels == ["World", "Sports", "Business", "Sci/Tech"]
    assert Counter(ex.label for ex in parts["dev"]) == {0: 190, 1: 190, 2: 190, 3: 190}
    assert Counter(ex.label for ex in parts["test"]) == {0: 190, 1: 190, 2: 190, 3: 190}
    assert Counter(ex.label for ex in parts["train"]) == {0: 1520, 1: 1520, 2: 1520, 3: 1520}
    assert sum(len(p) for p in parts.values()) == 7600
    words = {w for p in parts.values() for ex in p for w in ex.words}
    assert not any("\\" in w or "#39;" in w or "#36;" in w for w in words)
    again = load_dataset("agnews", "dev", data_dir=data_dir)
    assert again[:] == parts["dev"][:]
    other = load_dataset("agnews", "dev", data_dir=data_dir, seed=14)
    assert Counter(ex.label for ex in other) == Counter(ex.label for ex in again)
    assert other[:] != again[:]


def test_mr_split_is_seeded(data_dir: Path) -> None:
    a = load_dataset("mr", "train", data_dir=data_dir)
    b = load_dataset("mr", "train", data_dir=data_dir, seed=13)
    c = load_dataset("mr", "train", data_dir=data_dir, seed=7)
    assert a[:] == b[:]
    assert [ex.words for ex in a] != [ex.words for ex in c]
    test = load_dataset("mr", "test", data_dir=data_dir)
    assert len(a) + len(test) == 2 * 5331
    assert Counter(ex.label for ex in a) + Counter(ex.label for ex in test) == {0: 5331, 1: 5331}
    # latin-1 bytes 0x80-0x9f are Windows-1252 punctuation: 0x85 is an ellipsis, not a break.
    assert any("\u2026" in w for ex in a[:] + test[:] for w in ex.words)
    assert not any(any(0x80 <= ord(ch) < 0xA0 for ch in w) for ex in a for w in ex.words)


def test_imdb_test_split(data_dir: Path) -> None:
    ds = load_dataset("imdb", "test", data_dir=data_dir)
    assert len(ds) == 25000
    assert Counter(ex.label for ex in ds) == {0: 12500, 1: 12500}
    assert all(ex.uid.startswith("aclImdb/test/") for ex in ds)
    assert {ex.label for ex in ds[:50]} == {0, 1}  # shuffled order: a limit sees both labels
    assert not any("<br" in ex.text() for ex in ds[:2000])


@pytest.mark.slow
def test_imdb_train_dev_split(data_dir: Path) -> None:
    train = load_dataset("imdb", "train", data_dir=data_dir)
    dev = load_dataset("imdb", "dev", data_dir=data_dir)
    assert (len(train), len(dev)) == (22500, 2500)
    assert not {ex.uid for ex in train} & {ex.uid for ex in dev}
    assert all(ex.uid.startswith("aclImdb/train/") for ex in dev)


# --- registry, specs, folders -------------------------------------------------------


def test_registry() -> None:
    assert set(DATASETS) == {"sst2", "sst5", "sst2-phrases", "mr", "snli", "agnews", "imdb"}
    for name, info in DATASETS.items():
        assert isinstance(info, DatasetInfo) and info.name == name
        assert info.train_split in info.splits and info.eval_split in info.splits
    assert "not available" in DATASETS["snli"].description
    assert issubclass(DataError, InputError) and issubclass(DataError, ValueError)


def test_parse_spec() -> None:
    assert parse_spec("sst2:dev") == ("sst2", "dev", None)
    assert parse_spec("sst2:dev:200") == ("sst2", "dev", 200)
    assert parse_spec("sst2") == ("sst2", None, None)
    assert parse_spec("sst2-phrases::50") == ("sst2-phrases", None, 50)
    for bad, msg in [
        ("", "NAME"),
        ("a:b:c:d", "NAME"),
        ("sst2:dev:x", "'x'"),
        ("sst2:dev:0", "positive integer"),
            ("sst2:dev:-1", "positive integer"),
    ]:
        with pytest.raises(DataError, match=msg):
            parse_spec(bad)


def test_missing_folder(tmp_path: Path, no_data_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="data folder not found: .*nowhere"):
        resolve_data_dir(missing)
    with pytest.raises(DataError, match="nowhere"):
        load_dataset("sst2", data_dir=missing)  # explicit folder: no silent fall-back to the hub
    with pytest.raises(DataError, match="--data-dir.*PATHOLOGIES_DATA"):
        resolve_data_dir()
    monkeypatch.setenv("PATHOLOGIES_DATA", str(missing))
    with pytest.raises(DataError, match="nowhere.*PATHOLOGIES_DATA"):
        resolve_data_dir()
    assert resolve_data_dir(tmp_path) == tmp_path
    with pytest.raises(DataError, match=r"data file not found: .*sst.dev\.txt"):
        load_dataset("sst2", "dev", data_dir=tmp_path)


def test_unknown_name_split_source(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match="unknown data set 'sst3'.*sst2, sst5, sst2-phrases, mr, snli"
    ):
        load_dataset("sst3", data_dir=tmp_path)
    with pytest.raises(DataError, match="unknown split 'valid'.*train, dev, test"):
        load_dataset("sst2", "valid", data_dir=tmp_path)
    with pytest.raises(DataError, match="unknown split 'train'.*dev, test"):
        load_dataset("snli", "train", data_dir=tmp_path, source="local")
    with pytest.raises(DataError, match="unknown source"):
        load_dataset("sst2", data_dir=tmp_path, source="web")
    with pytest.raises(DataError, match="limit"):
        load_dataset("sst2", data_dir=tmp_path, limit=0)


GOOD = "(3 (2 A) (4 (3 good) (2 film)))"


@pytest.mark.parametrize(
    "line3,what",
    [
        ("(3 (2 A) (4 good)", "unbalanced"),
        ("(3 (2 A) (4 good)))", "unbalanced"),
        ("(x (2 A) (4 good))", "not an integer"),
        ("(7 (2 A) (4 good))", "outside 0-4"),
        ("", "empty line"),
        ("(3 (2 A) stray (4 good))", "between subtrees"),
    ],
)
def test_corrupt_sst_line(tmp_path: Path, line3: str, what: str) -> None:
    (tmp_path / "sst").mkdir()
    path = tmp_path / "sst" / "dev.txt"
    path.write_text("\n".join([GOOD, GOOD, line3, GOOD]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=what) as err:
        load_dataset("sst5", "dev", data_dir=tmp_path)
    assert f"{path}:3:" in str(err.value) and "dev.txt:3" in str(err.value)


def test_sst_trailing_blank_lines_are_fine(tmp_path: Path) -> None:
    (tmp_path / "sst").mkdir()
    (tmp_path / "sst" / "test.txt").write_text(f"{GOOD}\n(1 (-LRB- x))\n\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="test.txt:2"):
        load_dataset("sst5", "test", data_dir=tmp_path)
    (tmp_path / "sst" / "test.txt").write_text(
        f"{GOOD}\n(1 (1 -LRB-) (2 x\\/y))\n\n", encoding="utf-8"
    )
    ds = sorted(load_dataset("sst5", "test", data_dir=tmp_path), key=lambda ex: ex.uid)
    assert [ex.words for ex in ds] == [("A", "good", "film"), ("(", "x/y")]
    assert [ex.uid for ex in ds] == ["sst5:test:0", "sst5:test:1"]
    assert ds[1].tags == (1, 2) and ds[1].label == 1


def _agnews_dir(tmp_path: Path, bad_row: str) -> Path:
    folder = tmp_path / "ag_news"
    folder.mkdir()
    (folder / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding="utf-8")
    rows = ['"1","Title","Text one"', bad_row] + [f'"{c}","T{c}","D{c}"' for c in (2, 3, 4)]
    (folder / "test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder / "test.csv"


@pytest.mark.parametrize("bad", ['"5","Title","Text"', '"x","Title","Text"', '"2","only two"'])
def test_corrupt_agnews_class(tmp_path: Path, bad: str) -> None:
    path = _agnews_dir(tmp_path, bad)
    with pytest.raises(DataError, match="class|columns") as err:
        load_dataset("agnews", "train", data_dir=tmp_path)
    assert f"{path}:2:" in str(err.value)


def test_agnews_cleaning(tmp_path: Path) -> None:
    _agnews_dir(tmp_path, r'"1","Wins \$1B","It doesn #39;t stop\here, up  #36;10&lt;b&gt;"')
    words = [
        w
        for p in ("train", "dev", "test")
        for ex in load_dataset("agnews", p, data_dir=tmp_path)
        for w in ex.words
    ]
    assert {"$1B", "doesn't", "stop", "here,", "$10<b>"} <= set(words)


def _snli_dir(tmp_path: Path, s1: list[str], s2: list[str], labels: list[str]) -> Path:
    folder = tmp_path / "snli"
    folder.mkdir()
    for stem, lines in (("s1", s1), ("s2", s2), ("labels", labels)):
        (folder / f"{stem}.test").write_text(
            "".join(line + "\n" for line in lines), encoding="utf-8"
        )
    return folder


def test_snli_unequal_files(tmp_path: Path) -> None:
    _snli_dir(tmp_path, ["A man .", "A dog ."], ["A person ."], ["entailment", "neutral"])
    with pytest.raises(
        DataError, match=r"not aligned: .*s1\.test \(2 lines\).*s2\.test \(1 lines\).*labels\.test"
    ):
        load_dataset("snli", "test", data_dir=tmp_path)


def test_snli_unknown_label(tmp_path: Path) -> None:
    folder = _snli_dir(
        tmp_path, ["A man .", "A dog ."], ["A person .", "A cat ."], ["entailment", "maybe"]
    )
    with pytest.raises(DataError, match="unknown label 'maybe'") as err:
        load_dataset("snli", "test", data_dir=tmp_path)
    assert f"{folder / 'labels.test'}:2:" in str(err.value)


# --- the tree parser ----------------------------------------------------------------

_TOKEN_CHARS = st.characters(
    min_codepoint=33,
    max_codepoint=0x2FF,
    blacklist_characters="()\\",
    blacklist_categories=("Z", "C"),
)
_ESCAPED = {
    **dict(zip(["-LRB-", "-RRB-", "-LSB-", "-RSB-", "-LCB-", "-RCB-"], "()[]{}", strict=True)),
    "a\\/b": "a/b",
    "\\*": "*",
}
tokens = st.one_of(st.text(_TOKEN_CHARS, min_size=1, max_size=6), st.sampled_from(sorted(_ESCAPED)))
labels = st.integers(0, 4)
trees = st.recursive(
    st.builds(lambda y, t: Tree(y, token=t), labels, tokens),
    lambda kids: st.builds(
        lambda y, cs: Tree(y, tuple(cs)), labels, st.lists(kids, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _write(tree: Tree, gap: str) -> str:
    if tree.token is not None:
        return f"({tree.label} {tree.token})"
    return f"({tree.label} " + gap.join(_write(c, gap) for c in tree.children) + ")"


def _leaves(tree: Tree) -> list[Tree]:
    return (
        [tree] if tree.token is not None else [leaf for c in tree.children for leaf in _leaves(c)]
    )


@settings(max_examples=200, deadline=None)
@given(trees, st.sampled_from([" ", "  ", ""]))
def test_parser_round_trip(tree: Tree, gap: str) -> None:
    parsed = parse_tree(_write(tree, gap))
    assert parsed == tree
    assert parse_tree(parsed.to_string()) == tree
    words, tags = words_and_tags(parsed)
    leaves = _leaves(tree)
    assert words == [_ESCAPED.get(leaf.token, leaf.token) for leaf in leaves]
    assert tags == [leaf.label for leaf in leaves]


def test_unescape() -> None:
    assert [unescape(t) for t in ["-LRB-", "-RRB-", "-LSB-", "-RSB-", "-LCB-", "-RCB-"]] == list(
        "()[]{}"
    )
    assert unescape("1\\/2") == "1/2" and unescape("\\*") == "*" and unescape("word") == "word"


# --- the hub code path, on a local folder -------------------------------------------


@pytest.fixture
def offline_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The datasets library, offline, caching under tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    return datasets


def _jsonl(folder: Path, split: str, rows: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{split}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )


def test_hub_path_single(tmp_path: Path, offline_datasets, no_data_env: None) -> None:
    repo = tmp_path / "sst2_repo"
    _jsonl(repo, "train", [{"sentence": "a fine film", "label": 1, "idx": 0}])
    _jsonl(
        repo,
        "validation",
        [
            {"sentence": "dull ", "label": 0, "idx": 0},
            {"sentence": "great fun", "label": 1, "idx": 1},
        ],
    )
    _jsonl(repo, "test", [{"sentence": "hidden", "label": -1, "idx": 0}])
    ds = load_dataset("sst2", "dev", source="hub", hub_repo=str(repo))
    assert (ds.name, ds.split, ds.labels) == ("sst2", "dev", ["negative", "positive"])
    assert [(ex.words, ex.label, ex.uid) for ex in ds] == [
        (("dull",), 0, "sst2:dev:0"),
        (("great", "fun"), 1, "sst2:dev:1"),
    ]
    # "auto" without a data folder goes to the hub (here: the local folder).
    assert load_dataset("sst2", "dev", hub_repo=str(repo), limit=1)[:] == ds[:1]
    with pytest.raises(DataError, match="no gold labels"):
        load_dataset("sst2", "test", source="hub", hub_repo=str(repo))


def test_hub_path_pairs(tmp_path: Path, offline_datasets) -> None:
    repo = tmp_path / "snli_repo"
    rows = [
        {"premise": "A man sleeps .", "hypothesis": "A man is awake .", "label": 2},
        {"premise": "No gold .", "hypothesis": "Dropped .", "label": -1},
        {"premise": "A dog runs .", "hypothesis": "An animal moves .", "label": 0},
    ]
    _jsonl(repo, "validation", rows)
    ds = load_dataset("snli", "dev", source="hub", hub_repo=str(repo))
    assert ds.is_pair and len(ds) == 2
    assert ds[0].fixed == ("A", "man", "sleeps", ".") and ds[0].words == (
        "A",
        "man",
        "is",
        "awake",
        ".",
    )
    assert [ex.label for ex in ds] == [2, 0]
    with pytest.raises(DataError, match="cannot load .*'test'"):
        load_dataset("snli", "test", source="hub", hub_repo=str(repo))  # no test file
    other = tmp_path / "mr_repo"
    _jsonl(other, "test", [{"sentence": "wrong column", "label": 0}])
    with pytest.raises(DataError, match="missing column.*text"):
        load_dataset("mr", "test", source="hub", hub_repo=str(other))


def test_hub_needs_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(DataError, match="pip install datasets"):
        load_dataset("sst2", "dev", source="hub")


# --- a user's own files ------------------------------------------------------------------

def test_own_files_jsonl_csv_tsv_and_pairs(tmp_path):
    from pathologies.data.files import is_data_file, load_file

    (tmp_path / "a.jsonl").write_text('{"text": "a fine film", "label": "pos"}\n\n{"text": "dull", "label": "neg"}\n')
    ds = load_file(tmp_path / "a.jsonl")
    assert ds.labels == ["neg", "pos"] and [e.label for e in ds] == [1, 0] and ds[0].words == ("a", "fine", "film")
    mapped = load_file(tmp_path / "a.jsonl", labels=["pos", "neg"])  # the model's order, not the sorted one
    assert mapped.labels == ["pos", "neg"] and [e.label for e in mapped] == [0, 1]
    (tmp_path / "b.tsv").write_text("premise\thypothesis\tlabel\nA man sleeps .\tNobody sleeps .\t2\n")
    pair = load_file(tmp_path / "b.tsv")[0]
    assert pair.fixed == ("A", "man", "sleeps", ".") and pair.words == ("Nobody", "sleeps", ".") and pair.label == 2
    (tmp_path / "c.csv").write_text("sentence,label\ngreat,1\n")
    assert is_data_file(str(tmp_path / "c.csv")) and load_file(tmp_path / "c.csv")[0].label == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"text": "ok", "label": 0}\n{"text": "bad json", \n', r"a\.jsonl:2: not valid JSON"),
        ('{"text": "", "label": 0}\n', r"a\.jsonl:1: empty text"),
        ('{"text": "x", "label": 0}\n{"text": "y"}\n', r"a\.jsonl:2: missing label"),
        ('{"premise": "a man", "label": 0}\n', r"a\.jsonl:1: a sentence pair needs both"),
    ],
)
def test_own_file_errors_name_file_and_line(tmp_path, content, message):
    from pathologies.data.files import load_file

    (tmp_path / "a.jsonl").write_text(content)
    with pytest.raises(DataError, match=message):
        load_file(tmp_path / "a.jsonl")


def test_own_file_label_the_model_set_does_not_have(tmp_path):
    from pathologies.data.files import load_file

    (tmp_path / "a.jsonl").write_text('{"text": "x", "label": "maybe"}\n')
    with pytest.raises(DataError, match=r"label 'maybe' .* not one of the model's labels \(negative, positive\)"):
        load_file(tmp_path / "a.jsonl", labels=["negative", "positive"])
