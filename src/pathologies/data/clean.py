"""Text clean-up of the raw files: decoding and escape remnants."""

from __future__ import annotations

import html
import re

# latin-1 decodes bytes 0x80-0x9f to C1 control characters; the MR files use them as
# Windows-1252 punctuation (0x85 "…", 0x91/0x92 quotes, 0x96/0x97 dashes).
_C1_TO_CP1252: dict[int, str] = {}
for _b in range(0x80, 0xA0):
    try:
        _C1_TO_CP1252[_b] = bytes([_b]).decode("cp1252")
    except UnicodeDecodeError:
        pass


def decode_latin1(data: bytes) -> str:
    """Decode latin-1, reading the C1 range as Windows-1252 punctuation."""
    return data.decode("latin-1").translate(_C1_TO_CP1252)


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only (``str.splitlines`` would also split on NEL, U+2028...).

    A final newline does not start an extra line; ``\\r`` before ``\\n`` is dropped.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


_AG_BACKSLASHES = re.compile(r"\\+")
_AG_ENTITY = re.compile(r" ?#(\d{2,5});")


def clean_agnews(text: str) -> str:
    """AG News field text: line-break backslashes -> space, entity remnants decoded.

    In the released file a line break is a bare backslash (``second\\team``, despite the
    readme's ``\\n``), ``\\$`` is a dollar sign, and numeric entities lost their ``&``
    (``doesn #39;t``, `` #36;10``); ``&lt;``/``&gt;`` are decoded too.
    """
    text = text.replace("\\$", "$")
    text = _AG_BACKSLASHES.sub(" ", text)
    text = _AG_ENTITY.sub(lambda m: html.unescape(f"&#{m.group(1)};"), text)
    return html.unescape(text)


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_imdb(text: str) -> str:
    """IMDB review text: ``<br />`` line breaks -> space."""
    return _BR.sub(" ", text)
