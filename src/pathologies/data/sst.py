"""Penn-Treebank-style sentiment trees (SST): a small stack parser, no nltk.

A tree is ``(LABEL CHILD ...)`` or a leaf ``(LABEL TOKEN)``; labels are integers.
Leaf tokens keep the treebank's escapes (``-LRB-``, ``\\/``); :func:`unescape`
turns them back into display text. A few SST leaves hold a non-breaking space
(``8\u00a01\\/2``): :func:`leaf_words` splits such a leaf into several words that
share the leaf's label, so the words of an example are always whitespace tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

# Whole-token escapes of the Penn Treebank.
BRACKET_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
}
# Escapes that may occur inside a token.
INNER_ESCAPES = {"\\/": "/", "\\*": "*"}

_SPACE = " \t"  # separators between tree items; other whitespace belongs to tokens


class TreeError(ValueError):
    """A malformed tree; the message says what is wrong and at which column."""


class Tree(NamedTuple):
    """A labelled node: either a leaf with a ``token`` or an inner node with ``children``."""

    label: int
    children: tuple[Tree, ...] = ()
    token: str | None = None

    @property
    def is_leaf(self) -> bool:
        return self.token is not None

    def leaves(self) -> Iterator[Tree]:
        """The leaves, left to right."""
        stack = [self]
        while stack:
            node = stack.pop()
            if node.is_leaf:
                yield node
            else:
                stack.extend(reversed(node.children))

    def nodes(self) -> Iterator[Tree]:
        """Every node, pre-order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def to_string(self) -> str:
        """The tree in bracket notation (the inverse of :func:`parse_tree`)."""
        if self.is_leaf:
            return f"({self.label} {self.token})"
        return f"({self.label} " + " ".join(c.to_string() for c in self.children) + ")"


def unescape(token: str) -> str:
    """Treebank token -> display text: ``-LRB-`` -> ``(``, ``\\/`` -> ``/`` and so on."""
    if token in BRACKET_ESCAPES:
        return BRACKET_ESCAPES[token]
    for escaped, plain in INNER_ESCAPES.items():
        if escaped in token:
            token = token.replace(escaped, plain)
    return token


def leaf_words(token: str) -> list[str]:
    """The display words of one leaf token (several if it holds whitespace)."""
    return [unescape(piece) for piece in token.split()]


_PARENS = re.compile(r"([()])")


def parse_tree(text: str) -> Tree:
    """Parse one bracketed tree; raises :class:`TreeError` on malformed input."""
    s = text.strip(_SPACE + "\r\n")
    if not s:
        raise TreeError("empty line: expected a tree")
    # Open nodes as [label, children, leaf token or None].
    stack: list[list] = []
    root: Tree | None = None
    after_open = False  # the previous piece was "(": a label comes next
    pos = 0  # offset of the current piece, for error columns
    for piece in _PARENS.split(s):
        if piece == "(":
            if root is not None:
                raise TreeError(f"col {pos + 1}: text after the end of the tree")
            if stack and stack[-1][2] is not None:
                raise TreeError(f"col {pos + 1}: '(' inside a leaf token")
            after_open = True
        elif piece == ")":
            if not stack:
                raise TreeError(f"col {pos + 1}: unbalanced brackets: ')' without '('")
            label, children, token = stack.pop()
            if token is not None:
                node = Tree(label, token=token)
            elif children:
                node = Tree(label, tuple(children))
            else:
                raise TreeError(f"col {pos + 1}: node without a token or children")
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
        elif after_open:
            after_open = False
            raw, _, rest = piece.partition(" ")
            if not raw:
                raise TreeError(f"col {pos + 1}: expected a label after '('")
            try:
                label = int(raw)
            except ValueError:
                raise TreeError(f"col {pos + 1}: label {raw!r} is not an integer") from None
            token = rest.strip(_SPACE) or None
            if token is not None and not token.split():
                raise TreeError(f"col {pos + 1}: leaf token of whitespace only")
            stack.append([label, [], token])
        elif piece.strip(_SPACE):
            where = "outside the tree" if not stack or root is not None else "between subtrees"
            raise TreeError(f"col {pos + 1}: text {where}: {piece.strip()[:12]!r}")
        pos += len(piece)
    if after_open:
        raise TreeError(f"col {pos}: expected a label after '('")
    if stack:
        raise TreeError(f"unbalanced brackets: {len(stack)} '(' not closed")
    if root is None:
        raise TreeError("no tree found")
    return root


def words_and_tags(tree: Tree) -> tuple[list[str], list[int]]:
    """Display words of the leaves in order and, for each word, its leaf's label."""
    words: list[str] = []
    tags: list[int] = []
    for leaf in tree.leaves():
        assert leaf.token is not None
        pieces = leaf_words(leaf.token)
        words.extend(pieces)
        tags.extend([leaf.label] * len(pieces))
    return words, tags


def phrases(tree: Tree) -> Iterator[tuple[int, list[str], list[int]]]:
    """``(label, words, tags)`` of every node's span, pre-order (the root comes first)."""
    words, tags = words_and_tags(tree)
    spans: dict[int, tuple[int, int]] = {}
    # Post-order pass: a node's span is from its first to its last leaf word.
    pos = 0
    stack: list[tuple[Tree, bool]] = [(tree, False)]
    while stack:
        node, done = stack.pop()
        if node.is_leaf:
            assert node.token is not None
            width = len(node.token.split())
            spans[id(node)] = (pos, pos + width)
            pos += width
        elif done:
            spans[id(node)] = (spans[id(node.children[0])][0], spans[id(node.children[-1])][1])
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children))
    for node in tree.nodes():
        start, end = spans[id(node)]
        yield node.label, words[start:end], tags[start:end]
