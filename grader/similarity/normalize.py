"""Source code -> per-function token streams that cosmetic changes do not alter.

What is erased: identifiers of variables, parameters and helper functions (all become ``V`` /
inlined), the spelling of literals (``1e-3`` and ``0.001`` are one token), comments, docstrings,
whitespace, the order of definitions, dead code (statements after ``return``/``raise``/
``break``/``continue``, ``if False:`` blocks, stores to names never read, helpers nothing calls).
What is kept: the shape of the syntax tree, operators, the library functions and attributes
called (``numpy.maximum``, ``.reshape``), builtins, and constant values.

A unit is one function the assignment's template defines (``relu_forward``) or one method of a
template class (``Value.__add__``). Helper functions a student adds are inlined where they are
called, so splitting a function into helpers or inlining them barely changes the unit's stream.
Every token remembers the source line it came from, for highlighting matches.
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

BUILTINS = frozenset(dir(builtins))
MODULE_UNIT = "<module>"  # the stream of a file that does not parse, or of top-level code
MAX_INLINE_DEPTH = 3


@dataclass(frozen=True)
class Token:
    text: str
    line: int


@dataclass
class NormalizedModule:
    """A submission's graded code, normalized: one token stream per unit."""

    source: str
    units: dict[str, list[Token]] = field(default_factory=dict)
    parsed: bool = True


def template_names(template: str) -> set[str]:
    """The unit names a template (the released stub) defines."""
    try:
        tree = ast.parse(template)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return names


def normalize(source: str, units: set[str]) -> NormalizedModule:
    """Token streams of ``units`` (and of top-level statements) in ``source``."""
    try:
        tree = ast.parse(source)
    # Nesting beyond the parser's stack is MemoryError or RecursionError, not SyntaxError.
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return NormalizedModule(source, {MODULE_UNIT: _lexical_tokens(source)}, parsed=False)
    return _Normalizer(tree, units).run(source)


def _lexical_tokens(source: str) -> list[Token]:
    """Fallback for code that does not parse: names become V, literals keep their kind."""
    out: list[Token] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME:
                keep = tok.string in BUILTINS or tok.string.isupper() or \
                    tok.string in ("def", "return", "for", "if", "else", "while", "in")
                out.append(Token(tok.string if keep else "V", tok.start[0]))
            elif tok.type == tokenize.NUMBER:
                out.append(Token("NUM", tok.start[0]))
            elif tok.type == tokenize.STRING:
                out.append(Token("STR", tok.start[0]))
            elif tok.type == tokenize.OP:
                out.append(Token(tok.string, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _strip_dead(body: list[ast.stmt]) -> list[ast.stmt]:
    """A block without docstrings, bare constants, unreachable tails and ``if False:``.
    Blocks of constant ``if``s are spliced in with a stack of iterators, not recursion: an
    ``elif`` chain is a tree as deep as it is long."""
    kept: list[ast.stmt] = []
    blocks = [iter(body)]
    while blocks:
        stmt = next(blocks[-1], None)
        if stmt is None:
            blocks.pop()
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or a bare literal
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, (ast.If, ast.While)) and _constant_false(stmt.test):
            if isinstance(stmt, ast.If):
                blocks.append(iter(stmt.orelse))
            continue
        if isinstance(stmt, ast.If) and _constant_true(stmt.test):
            blocks.append(iter(stmt.body))
            continue
        kept.append(stmt)
        if isinstance(stmt, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
            blocks.pop()  # the rest of this block is unreachable
    return kept


def _constant_false(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and not test.value


def _constant_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value) and test.value is not Ellipsis


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


class _Normalizer:
    def __init__(self, tree: ast.Module, units: set[str]) -> None:
        self.tree = tree
        self.units = units
        self.helpers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.modules: dict[str, str] = {}  # import alias -> canonical module path
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and node.name not in units:
                self.helpers[node.name] = node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.modules[alias.asname or alias.name.split(".")[0]] = \
                        alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                for target in node.targets:
                    if isinstance(target, ast.Name):  # `safe_exp = lambda z: ...` is a helper
                        self.helpers[target.id] = ast.FunctionDef(
                            name=target.id, args=node.value.args,
                            body=[ast.Return(node.value.body, lineno=node.lineno)],
                            decorator_list=[], lineno=node.lineno)
        self.out: list[Token] = []
        # Names read anywhere in the module: a store to any other name is dead code.
        self.read = _loaded_names(tree)
        self.inlining: list[str] = []

    def run(self, source: str) -> NormalizedModule:
        result = NormalizedModule(source)
        top: list[ast.stmt] = []
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name in self.units:
                    result.units[node.name] = self._function(node)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    name = f"{node.name}.{getattr(item, 'name', '')}"
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                            and name in self.units:
                        result.units[name] = self._function(item)
            elif not isinstance(node, (ast.Import, ast.ImportFrom)) \
                    and not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)):
                top.append(node)
        top = [s for s in _strip_dead(top) if not isinstance(s, ast.Assign)
               or not all(isinstance(t, ast.Name) for t in s.targets)]
        if top:
            self.out = []
            for stmt in top:
                self._visit(stmt)
            result.units[MODULE_UNIT] = self.out
        return result

    def _function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Token]:
        self.out = []
        self._body(fn.body)
        return self.out

    def _body(self, body: list[ast.stmt]) -> None:
        for stmt in self._live(body):
            self._visit(stmt)

    def _live(self, body: list[ast.stmt]) -> list[ast.stmt]:
        """The statements of a block that count: dead code and stores nothing reads left out."""
        read = self.read
        return [stmt for stmt in _strip_dead(body)
                if not (isinstance(stmt, ast.Assign) and not _has_call(stmt.value) and all(
                    isinstance(t, ast.Name) and t.id not in read for t in stmt.targets))]

    def _emit(self, text: str, node: ast.AST) -> None:
        self.out.append(Token(text, getattr(node, "lineno", 0)))

    def _visit(self, root: ast.AST) -> None:
        """Emit ``root``'s tokens in source order. A loop over a stack of pending nodes and
        actions, never recursion: the depth of a student's syntax tree is unbounded (a
        500-term sum is 500 nested BinOps, and helpers are inlined into each other)."""
        stack: list[ast.AST | Callable[[], None]] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.AST):
                stack.extend(reversed(self._expand(item)))
            else:
                item()

    def _expand(self, node: ast.AST) -> list[ast.AST | Callable[[], None]]:
        """Emit ``node``'s own tokens; return what follows it, in order (nodes and actions)."""
        if isinstance(node, ast.Name):
            self._emit(self._name(node.id), node)
            return []
        if isinstance(node, ast.Constant):
            self._emit(_constant(node.value), node)
            return []
        if isinstance(node, ast.Attribute):
            dotted = self._dotted(node)
            if dotted is not None:
                self._emit(dotted, node)
                return []
            return [node.value, lambda: self._emit("." + node.attr, node)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in self.helpers:
            return self._inline(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._emit(type(node).__name__, node)
            body = node.body if isinstance(node.body, list) else [ast.Return(node.body)]
            return list(_strip_dead(body))
        if isinstance(node, (ast.expr_context, ast.arguments, ast.arg, ast.keyword)):
            if isinstance(node, ast.keyword) and node.arg:
                self._emit(f"{node.arg}=", node)
                return [node.value]
            return []
        if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            self._emit(type(node).__name__, node)
            following: list[ast.AST | Callable[[], None]] = []
            for name, value in ast.iter_fields(node):
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    following += self._live(value)
                elif isinstance(value, list):
                    following += [item for item in value if isinstance(item, ast.AST)]
                elif isinstance(value, ast.AST) and name != "ctx":
                    following.append(value)
            return following
        self._emit(type(node).__name__, node)
        return list(ast.iter_child_nodes(node))

    def _inline(self, call: ast.Call) -> list[ast.AST | Callable[[], None]]:
        """A student's helper is replaced by its body, so splitting code into helpers (or
        inlining them) barely changes the stream: plain-name arguments vanish (they are only
        renamings) and a final ``return expr`` becomes ``expr``."""
        name = call.func.id  # type: ignore[union-attr]
        following: list[ast.AST | Callable[[], None]] = [
            arg for arg in [*call.args, *(kw.value for kw in call.keywords)]
            if not isinstance(arg, ast.Name)]
        if name in self.inlining or len(self.inlining) >= MAX_INLINE_DEPTH:
            return [*following, lambda: self._emit("Call", call)]
        body = _strip_dead(self.helpers[name].body)
        if body and isinstance(body[-1], ast.Return) and body[-1].value is not None:
            inlined = [*self._live(body[:-1]), body[-1].value]
        else:
            inlined = self._live(body)
        # The helper's name is on the inlining stack exactly while its body is emitted.
        return [*following, lambda: self.inlining.append(name), *inlined,
                lambda: self.inlining.pop()]

    def _name(self, name: str) -> str:
        if name in self.modules:
            return self.modules[name]
        if name in BUILTINS:
            return name
        return "V"

    def _dotted(self, node: ast.Attribute) -> str | None:
        """``np.linalg.norm`` -> ``numpy.linalg.norm`` when the root is an imported module."""
        parts = [node.attr]
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in self.modules:
            return ".".join([self.modules[value.id], *reversed(parts)])
        return None


def _constant(value: object) -> str:
    if isinstance(value, bool) or value is None or value is Ellipsis:
        return repr(value)
    if isinstance(value, (int, float)):
        number = float(value)
        return f"N{int(number)}" if number.is_integer() and abs(number) < 1e15 else \
            f"N{number!r}"
    if isinstance(value, complex):
        return "NC"
    return "S"  # strings and bytes: messages differ between students, their presence not
