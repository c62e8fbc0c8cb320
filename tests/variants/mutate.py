"""Mutated copies of a reference solution, for testing hidden suites.

A variant is the solution with small source edits: ``Edit`` swaps text inside one definition,
``Replace`` swaps a whole definition. The project's tests grade every variant: a buggy one
must lose points, an alternative correct one must get full marks.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Edit:
    """Replace ``find`` by ``replace`` inside definition ``target`` (``"f"`` or ``"C.m"``)."""

    target: str
    find: str
    replace: str


@dataclass(frozen=True)
class Replace:
    """Swap the whole definition ``target`` for ``source`` (dedented, at its indentation)."""

    target: str
    source: str


@dataclass(frozen=True)
class Variant:
    name: str
    changes: list[Edit | Replace]
    fails: list[str] = field(default_factory=list)  # hidden tests that must fail
    # Points the variant must lose exactly, where one slip must cost its own test's points
    # and nothing more (None: any loss will do).
    lost: float | None = None


def _span(tree: ast.Module, target: str) -> tuple[int, int, int]:
    """(first line, last line, column) of a definition, decorators included; 1-based."""
    scope: list[ast.stmt] = tree.body
    node = None
    for part in target.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                        ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            raise ValueError(f"no definition {target!r} in the solution")
        scope = node.body
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    return start, node.end_lineno, node.col_offset


def apply(source: str, changes: list[Edit | Replace]) -> str:
    """The solution text with ``changes`` applied in order."""
    for change in changes:
        lines = source.splitlines()
        start, end, col = _span(ast.parse(source), change.target)
        block = "\n".join(lines[start - 1:end])
        if isinstance(change, Edit):
            count = block.count(change.find)
            if count != 1:
                raise ValueError(f"{change.target}: {change.find!r} occurs {count} times "
                                 "(must be exactly once)")
            block = block.replace(change.find, change.replace)
        else:
            body = textwrap.dedent(change.source).strip("\n")
            block = textwrap.indent(body, " " * col)
        source = "\n".join([*lines[:start - 1], block, *lines[end:]]) + "\n"
        ast.parse(source)
    return source
