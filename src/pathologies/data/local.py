"""Readers of the data folder's files (layout and formats: the folder's README.md).

Each reader returns the examples of one split, uids included, and the label names
when the files themselves name them.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pathologies.data.clean import clean_agnews, clean_imdb, decode_latin1, split_lines
from pathologies.data.errors import DataError, at
from pathologies.data.registry import DATASETS
from pathologies.data.splits import holdout, shuffled, stratified
from pathologies.data.sst import Tree, TreeError, parse_tree, phrases, words_and_tags
from pathologies.text import Example


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"data file not found: {path} (see README.md of the data folder)")
    return path


def _read_utf8(path: Path) -> str:
    data = _require(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise at(path, data[: e.start].count(b"\n") + 1, f"not UTF-8: {e.reason}") from None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: building many small objects would trigger it over and over."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _uid(name: str, split: str, i: int) -> str:
    return f"{name}:{split}:{i}"


# --- SST ---------------------------------------------------------------------------


def read_sst_trees(path: Path) -> tuple[Tree, ...]:
    """Parse an SST file, one tree a line; corrupt lines raise ``DataError("path:line: ...")``.

    Parsed files are cached while their size and modification time stay the same.
    """
    stat = _require(path).stat()
    return _parse_sst_file(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parse_sst_file(path_str: str, mtime_ns: int, size: int) -> tuple[Tree, ...]:
    path = Path(path_str)
    lines = split_lines(_read_utf8(path))
    with _gc_paused():
        return _parse_sst_lines(path, lines)


def _parse_sst_lines(path: Path, lines: list[str]) -> tuple[Tree, ...]:
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines are harmless
    trees = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            raise at(path, lineno, "empty line between trees")
        try:
            tree = parse_tree(line)
        except TreeError as e:
            raise at(path, lineno, str(e)) from None
        for node in tree.nodes():
            if not 0 <= node.label <= 4:
                raise at(path, lineno, f"sentiment label {node.label} outside 0-4")
        trees.append(tree)
    return tuple(trees)


def _binary(label: int) -> int | None:
    return None if label == 2 else int(label > 2)


def read_sst(data_dir: Path, name: str, split: str, seed: int) -> list[Example]:
    """sst2 / sst5 sentences or sst2-phrases from ``sst/{split}.txt``, in a seeded shuffled order.

    The files are sorted by sentiment (positive trees first), so the order is shuffled for a
    ``limit`` to see both labels. Sentence uids keep the 0-based line of the tree
    (``sst2:dev:17`` is line 18); phrase uids number the phrases in file order.
    """
    trees = read_sst_trees(data_dir / "sst" / f"{split}.txt")
    out: list[Example] = []
    if name == "sst2-phrases":
        seen: set[tuple[str, ...]] = set()
        for tree in trees:
            for label, words, tags in phrases(tree):
                key = tuple(words)
                if label == 2 or key in seen:
                    continue
                seen.add(key)
                out.append(Example(key, _binary(label), tags=tags, uid=_uid(name, split, len(out))))
    else:
        for line, tree in enumerate(trees):
            label = tree.label if name == "sst5" else _binary(tree.label)
            if label is None:
                continue
            words, tags = words_and_tags(tree)
            out.append(Example(words, label, tags=tags, uid=_uid(name, split, line)))
    return shuffled(out, seed)


# --- MR ------------------------------------------------------------------------------


def read_mr(data_dir: Path, split: str, seed: int) -> list[Example]:
    """MR: both polarity files (latin-1), seeded shuffle, 90% train / 10% test."""
    items: list[tuple[tuple[str, ...], int]] = []
    for label, suffix in ((0, "neg"), (1, "pos")):
        path = _require(data_dir / "mr" / f"rt-polarity.{suffix}")
        for lineno, line in enumerate(split_lines(decode_latin1(path.read_bytes())), 1):
            words = tuple(line.split())
            if not words:
                raise at(path, lineno, "empty line")
            items.append((words, label))
    train, test = holdout(items, 0.1, seed)
    part = train if split == "train" else test
    return [Example(w, y, uid=_uid("mr", split, i)) for i, (w, y) in enumerate(part)]


# --- SNLI ----------------------------------------------------------------------------


def read_snli(data_dir: Path, split: str) -> list[Example]:
    """SNLI pairs: premise (``s1``) fixed and first, hypothesis (``s2``) perturbed."""
    folder = data_dir / "snli"
    paths = [folder / f"s1.{split}", folder / f"s2.{split}", folder / f"labels.{split}"]
    premises, hypotheses, labels = (split_lines(_read_utf8(p)) for p in paths)
    counts = [len(premises), len(hypotheses), len(labels)]
    if len(set(counts)) > 1:
        listing = ", ".join(f"{p} ({n} lines)" for p, n in zip(paths, counts, strict=True))
        raise DataError(f"SNLI files of split {split!r} are not aligned: {listing}")
    names = DATASETS["snli"].labels
    index = {n: i for i, n in enumerate(names)}
    out = []
    for i, (prem, hyp, lab) in enumerate(zip(premises, hypotheses, labels, strict=True)):
        lab = lab.strip()
        if lab not in index:
            raise at(paths[2], i + 1, f"unknown label {lab!r}; expected one of {', '.join(names)}")
        for path, text in ((paths[0], prem), (paths[1], hyp)):
            if not text.split():
                raise at(path, i + 1, "empty sentence")
        out.append(
            Example(
                hyp.split(),
                index[lab],
                fixed=prem.split(),
                fixed_first=True,
                uid=_uid("snli", split, i),
            )
        )
    return out


# --- AG News -------------------------------------------------------------------------


def read_agnews_classes(data_dir: Path) -> list[str]:
    """Label names from ``ag_news/classes.txt`` (the registry's names if it is missing)."""
    path = data_dir / "ag_news" / "classes.txt"
    if not path.is_file():
        return list(DATASETS["agnews"].labels)
    names = [line.strip() for line in split_lines(_read_utf8(path)) if line.strip()]
    if not names:
        raise DataError(f"{path}: no class names")
    return names


def read_agnews(data_dir: Path, split: str, seed: int) -> tuple[list[Example], list[str]]:
    """AG News test.csv, split per class 80/10/10 (seeded)."""
    names = read_agnews_classes(data_dir)
    path = _require(data_dir / "ag_news" / "test.csv")
    rows: list[tuple[tuple[str, ...], int]] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != 3:
                    raise at(
                        path,
                        line,
                        f"expected 3 columns (class, title, description), got {len(row)}",
                    )
                cls = row[0].strip()
                if not (cls.isdigit() and 1 <= int(cls) <= len(names)):
                    raise at(path, line, f"class {row[0]!r} is not an integer 1-{len(names)}")
                words = tuple(clean_agnews(row[1] + " " + row[2]).split())
                if not words:
                    raise at(path, line, "empty title and description")
                rows.append((words, int(cls) - 1))
        except csv.Error as e:
            raise at(path, reader.line_num, f"bad CSV: {e}") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8: {e.reason}") from None
    parts = stratified([y for _, y in rows], (0.8, 0.1, 0.1), seed)
    part = parts[("train", "dev", "test").index(split)]
    examples = [
        Example(rows[j][0], rows[j][1], uid=_uid("agnews", split, i)) for i, j in enumerate(part)
    ]
    return examples, names


# --- IMDB ----------------------------------------------------------------------------

IMDB_ARCHIVE = "imdb_aclImdb.tar.gz"
_IMDB_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg)/[^/]+\.txt$")


def _imdb_reviews(data_dir: Path, folder: str) -> list[tuple[str, int, str]]:
    """``(member path, label, text)`` of ``aclImdb/{folder}/{pos,neg}/*.txt``, sorted by path.

    Read straight from the tarball (one streaming pass, nothing extracted), or from an
    unpacked ``aclImdb/`` folder when there is one.
    """
    items: list[tuple[str, int, str]] = []
    unpacked = data_dir / "aclImdb"
    if unpacked.is_dir():
        for label, sub in ((0, "neg"), (1, "pos")):
            for p in (unpacked / folder / sub).glob("*.txt"):
                items.append((f"aclImdb/{folder}/{sub}/{p.name}", label, _read_utf8(p)))
    else:
        archive = _require(data_dir / IMDB_ARCHIVE)
        try:
            with tarfile.open(archive, "r:gz") as tf:
                for member in tf:
                    m = _IMDB_MEMBER.match(member.name)
                    if not (m and member.isfile() and m.group(1) == folder):
                        continue
                    f = tf.extractfile(member)
                    assert f is not None
                    data = f.read()
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise DataError(
                            f"{archive}: {member.name}: not UTF-8: {e.reason}"
                        ) from None
                    items.append((member.name.removeprefix("./"), int(m.group(2) == "pos"), text))
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise DataError(f"cannot read {archive}: {e}") from None
    if not items:
        raise DataError(f"no reviews under aclImdb/{folder}/{{pos,neg}}/ in {data_dir}")
    items.sort(key=lambda t: t[0])
    return items


def read_imdb(data_dir: Path, split: str, seed: int) -> list[Example]:
    """IMDB reviews; train/dev = seeded 90/10 of the training folder, test = the test folder.

    Every split comes in a seeded shuffled order, so a ``limit`` gives both labels.
    """
    items = _imdb_reviews(data_dir, "test" if split == "test" else "train")
    if split == "test":
        part = shuffled(items, seed)
    else:
        train, dev = holdout(items, 0.1, seed)
        part = train if split == "train" else dev
    return [Example(clean_imdb(text).split(), label, uid=path) for path, label, text in part]


def read_local(
    name: str, split: str, data_dir: Path, seed: int
) -> tuple[list[Example], list[str] | None]:
    """Examples of a canonical ``(name, split)`` from ``data_dir``, and label names if the
    files give them (AG News: classes.txt)."""
    with _gc_paused():
        return _read_local(name, split, data_dir, seed)


def _read_local(
    name: str, split: str, data_dir: Path, seed: int
) -> tuple[list[Example], list[str] | None]:
    if name in ("sst2", "sst5", "sst2-phrases"):
        return read_sst(data_dir, name, split, seed), None
    if name == "mr":
        return read_mr(data_dir, split, seed), None
    if name == "snli":
        return read_snli(data_dir, split), None
    if name == "agnews":
        return read_agnews(data_dir, split, seed)
    if name == "imdb":
        return read_imdb(data_dir, split, seed), None
    raise DataError(f"no local reader for data set {name!r}")  # pragma: no cover
