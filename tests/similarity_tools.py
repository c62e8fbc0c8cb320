"""Disguises a copier applies to someone else's code, for testing the similarity report.

Each takes Python source and returns disguised source that still runs the same way: renamed
identifiers, reordered definitions, changed comments and blank lines, inserted dead code, a part
of a function moved into a helper. (Rewriting one function loop <-> vectorized uses the
alternative implementations in tests/variants.)
"""

from __future__ import annotations

import ast
import builtins
import random

KEEP = set(dir(builtins)) | {"self", "cls", "np", "numpy", "torch", "math", "nn", "F"}


def _defined_names(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


class _Renamer(ast.NodeTransformer):
    def __init__(self, keep: set[str], rng: random.Random) -> None:
        self.keep, self.rng, self.names = keep, rng, {}

    def new(self, name: str) -> str:
        if name in self.keep or name.startswith("__"):
            return name
        if name not in self.names:
            self.names[name] = f"{self.rng.choice(['tmp', 'val', 'arr', 'res', 'q'])}_" \
                f"{len(self.names)}{self.rng.randrange(100)}"
        return self.names[name]

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.new(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.new(node.name)
        node.returns = None
        self.generic_visit(node)
        return node


def rename_identifiers(source: str, rng: random.Random, contract: set[str]) -> str:
    """Every variable, parameter and helper renamed; the contract's names stay (they must)."""
    tree = ast.parse(source)
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    keep = KEEP | contract | imported
    # Keyword arguments of the contract (rng=, seed=) are called by name: keep parameters.
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name in contract:
            keep |= {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    return ast.unparse(_Renamer(keep, rng).visit(tree))


def reorder_definitions(source: str, rng: random.Random) -> str:
    tree = ast.parse(source)
    head = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    rest = [n for n in tree.body if n not in head and n not in defs]
    rng.shuffle(defs)
    tree.body = head + rest + defs
    return ast.unparse(tree)


def restyle(source: str, rng: random.Random) -> str:
    """Docstrings removed, comments and blank lines added."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and len(body) > 1:
            body.pop(0)
    out = []
    for line in ast.unparse(tree).splitlines():
        if line.strip() and rng.random() < 0.25:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# {rng.choice(['step', 'compute it', 'see lecture', 'ok'])}")
        out.append(line)
        if rng.random() < 0.15:
            out.append("")
    return "\n".join(out) + "\n"


def insert_dead_code(source: str, rng: random.Random) -> str:
    """Unused stores, ``if False:`` blocks and an unused helper in every function."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.body:
            junk = ast.parse(f"unused_{rng.randrange(1000)} = {rng.randrange(100)} * 2\n"
                             "if False:\n    print('debug')\n").body
            at = rng.randrange(len(node.body)) if len(node.body) > 1 else 0
            node.body[at:at] = junk
    tree.body.append(ast.parse("def _never_called(a, b):\n    c = a + b\n    return c * c\n")
                     .body[0])
    return ast.unparse(tree)


def split_helper(source: str, rng: random.Random, contract: set[str]) -> str:
    """The returned expression of a few functions moves into a new helper function."""
    tree = ast.parse(source)
    helpers = []
    targets = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in contract
               and isinstance(n.body[-1], ast.Return) and n.body[-1].value is not None]
    for fn in rng.sample(targets, min(3, len(targets))):
        ret = fn.body[-1]
        free = sorted({n.id for n in ast.walk(ret) if isinstance(n, ast.Name)} - KEEP
                      - _defined_names(tree))
        name = f"_{fn.name}_result"
        helper = ast.parse(f"def {name}({', '.join(free)}):\n    return 0\n").body[0]
        helper.body[0].value = ret.value
        helpers.append(helper)
        fn.body[-1] = ast.parse(f"return {name}({', '.join(free)})").body[0]
    tree.body.extend(helpers)
    return ast.unparse(tree)


def disguise(source: str, rng: random.Random, contract: set[str],
             kinds: tuple[str, ...] = ("rename", "reorder", "restyle", "dead", "split")) -> str:
    """Apply the named disguises in a fixed order."""
    if "split" in kinds:
        source = split_helper(source, rng, contract)
    if "dead" in kinds:
        source = insert_dead_code(source, rng)
    if "rename" in kinds:
        source = rename_identifiers(source, rng, contract)
    if "reorder" in kinds:
        source = reorder_definitions(source, rng)
    if "restyle" in kinds:
        source = restyle(source, rng)
    return source


def transplant_function(donor: str, host: str, name: str) -> str:
    """``host`` with its function ``name`` (``f`` or ``Class.method``) replaced by ``donor``'s,
    plus the donor's top-level helpers that function calls and the host lacks (a partial copy:
    one function copied, the rest one's own). Raises LookupError when a side lacks it."""
    donor_tree, host_tree = ast.parse(donor), ast.parse(host)
    cls, _, fn = name.rpartition(".")

    def scope(tree: ast.Module) -> list[ast.stmt]:
        if not cls:
            return tree.body
        found = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls),
                     None)
        if found is None:
            raise LookupError(f"no class {cls}")
        return found.body

    copied = next((n for n in scope(donor_tree)
                   if isinstance(n, ast.FunctionDef) and n.name == fn), None)
    target = scope(host_tree)
    at = next((i for i, n in enumerate(target)
               if isinstance(n, ast.FunctionDef) and n.name == fn), None)
    if copied is None or at is None:
        raise LookupError(f"{name} is not defined by both sources")
    target[at] = copied
    helpers = {n.name: n for n in donor_tree.body if isinstance(n, ast.FunctionDef)}
    called = {n.id for n in ast.walk(copied) if isinstance(n, ast.Name)} & set(helpers)
    host_tree.body.extend(helpers[h] for h in sorted(called - _defined_names(host_tree)))
    return ast.unparse(host_tree)
