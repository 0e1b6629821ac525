"""What every verb of the ``pathologies`` command shares: the app, options, the error line,
the device default, the limit rule, and reading the inputs of a verb.

The verb modules (``cli``, ``cli_audit``, ``cli_check``, ``cli_dknn``) import this module and
register on :data:`app`; nothing here imports a verb module.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from .data import check_limit, load_data, match_labels
from .text import Example, InputError

app = typer.Typer(
    help="Find and fix the pathologies that make NLP model interpretations misleading.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def names(text: str) -> list[str]:
    """A comma-separated list of names (methods, metrics), blanks dropped."""
    return [m.strip() for m in text.split(",") if m.strip()]


DataDir = typer.Option(
    None, "--data-dir", help="Folder with the data sets (default: $PATHOLOGIES_DATA)."
)
DeviceOpt = typer.Option("auto", help="cpu, cuda, or auto (CUDA where present, else CPU).")
TrustOpt = typer.Option(False, help="Allow a hub model's own code to run.")
IndexOpt = typer.Option(
    None, "--index", help="DkNN index folder (pathologies dknn fit): for --method conformity and the dknn metrics."
)


def _one_line(message: object) -> str:
    """A message as one line: newlines and runs of spaces collapsed."""
    return " ".join(str(message).split())


def _fail(message: str) -> None:
    """The error as exactly one plain line on stderr (no markup, no wrapping), exit code 2."""
    sys.stdout.flush()
    print(f"error: {_one_line(message)}", file=sys.stderr, flush=True)
    raise typer.Exit(2)


def _positive(option: str):
    """A typer callback: the option's value as a positive integer, or a one-line error."""

    def check(value: Optional[str]) -> Optional[int]:

        try:
            return check_limit(value, option)
        except InputError as err:
            _fail(str(err))

    return check


LimitOpt = typer.Option(None, "--limit", callback=_positive("--limit"), help="With --data: the first N examples (a positive integer).")
PairOpt = typer.Option(None, "--pair", help="A sentence pair: --pair PREMISE --pair HYPOTHESIS (the second is perturbed).")
DataOpt = typer.Option(None, "--data", help="A data set: NAME:SPLIT (e.g. sst2:dev) or your own .jsonl/.csv/.tsv file.")
EncodingOpt = typer.Option(
    "utf-8", "--encoding",
    help="Encoding of a --data file: any Python codec (utf-8, latin-1, cp1252, utf-16, ...); a UTF-8 byte-order mark is dropped.",
)


def _offline_defaults() -> None:
    # Nothing can be fetched here; users with internet can unset these.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _show_warnings() -> None:
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {_one_line(message)}", file=sys.stderr, flush=True)

    warnings.showwarning = show


def _key_values(items: List[str]) -> dict:
    """``KEY=VALUE`` strings to a dict; numbers become numbers."""
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set takes KEY=VALUE, not {item!r}")
        for cast in (int, float):
            try:
                out[key.replace("-", "_")] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key.replace("-", "_")] = value
    return out


def _inputs_and_model(model, text, pair, data, limit, data_dir, device, trust_remote_code, encoding="utf-8", *, fit=True):
    """What explain and reduce share: the examples asked for, and the model.

    The input is read and checked first (a bad file fails before the model loads); a data
    set's labels are then mapped onto the model's label names. Every example is then fitted
    to the model (words with no token dropped, over-long inputs cut) before anything is
    computed, so that a bad example fails with its error as the only line on stderr; the
    warnings of a data set are summed up in one line per kind. ``fit=False`` (run folders,
    which record the cuts themselves) only checks. The device is not said on stderr here.
    """
    from .models import load_classifier  # lazy: torch, kept off CLI start-up

    _offline_defaults()
    _show_warnings()
    loaded = {}

    def model_labels() -> list[str]:
        loaded["clf"] = load_classifier(model, device=_quiet_device(device), trust_remote_code=trust_remote_code)
        return loaded["clf"].labels

    examples = _examples(text, pair, data, limit, data_dir, labels=model_labels, encoding=encoding)
    clf = loaded.get("clf") or load_classifier(model, device=_quiet_device(device), trust_remote_code=trust_remote_code)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = [clf.fit_to_limit(ex) for ex in examples]
    if not fit:
        return examples, clf
    _replay_warnings(caught, len(examples))
    return fitted, clf


def _replay_warnings(caught, n: int) -> None:
    """Warnings recorded while fitting ``n`` inputs: as they are, or one line per kind."""
    from .models import DroppedWordsWarning  # lazy: torch, kept off CLI start-up

    dropped = [w for w in caught if issubclass(w.category, DroppedWordsWarning)]
    cut = [w for w in caught if w not in dropped and "longer than the model's limit" in str(w.message)]
    rest = [w for w in caught if w not in dropped and w not in cut]
    for group, what in ((dropped, "had words that become no token of the model, dropped"), (cut, "cut to the model's limit")):
        if len(group) == 1:
            warnings.warn(str(group[0].message), group[0].category, stacklevel=2)
        elif group:
            warnings.warn(f"{len(group)} of {n} inputs {what}; first: {group[0].message}", group[0].category, stacklevel=2)
    for w in rest:
        warnings.warn(str(w.message), w.category, stacklevel=2)


def _quiet_device(name: str) -> str:
    """``auto``: CUDA where present, else CPU (nothing printed: errors stay alone on stderr)."""
    return _device(name, say=False)


def _examples(
    text: str | None, pair: list[str] | None, data: str | None, limit: int | str | None, data_dir: Path | None,
    *, labels=None, encoding: str = "utf-8",
) -> list[Example]:
    """The examples of TEXT, --pair or --data (with --limit, --data-dir, --encoding).

    ``labels``: the model's label names (or a function returning them, called once the data
    has been read): a data set's labels are mapped onto them by name or index
    (``pathologies.data.match_labels``); without it they stay the data's own.
    """

    given = sum(x is not None and x != [] for x in (text, pair, data))
    if given != 1:
        raise InputError("give exactly one of: TEXT, --pair PREMISE --pair HYPOTHESIS, --data NAME:SPLIT or FILE")
    limit = check_limit(limit, "--limit")
    if data is None and limit is not None:
        raise InputError("--limit applies to --data only")
    if text is not None:
        return [Example.from_text(text, uid="#0")]  # the uid the library would give it
    if pair:
        if len(pair) != 2:
            raise InputError("--pair takes two segments: --pair PREMISE --pair HYPOTHESIS")
        return [Example.pair(pair[0], pair[1], uid="#0")]
    dataset = load_data(data, limit=limit, data_dir=data_dir, encoding=encoding)
    if labels is not None:
        dataset = match_labels(dataset, labels() if callable(labels) else labels)
    return dataset.examples


def _say(message: str) -> None:
    """One line of run information on stderr (stdout stays the command's output)."""
    err_console.print(message, style="dim", highlight=False)


_DEVICE_SAID: set[str] = set()


def _device(name: str, *, say: bool = True) -> str:
    """``auto``: CUDA where present, else CPU. With ``say``, the device is said once per process on stderr."""
    from .models import resolve_device  # lazy: keeps torch off CLI start-up

    resolved = resolve_device(name)
    if say and resolved not in _DEVICE_SAID:
        _DEVICE_SAID.add(resolved)
        why = " (--device auto: CUDA found)" if name == "auto" and resolved == "cuda" else (
            " (--device auto: no CUDA)" if name == "auto" else "")
        _say(f"device: {resolved}{why}")
    return resolved
