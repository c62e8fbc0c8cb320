"""The notebook contract: which parts of a Jupyter notebook are graded, decided here only.

A notebook becomes the graded module by what its code needs, not by position:

* kept: imports, ``def``/``class``, lambda bindings, constant bindings (a literal value, or
  any value bound to a Capitalized name unless it calls the notebook's own functions), whole
  cells tagged ``graded-setup``, and every other binding a kept statement uses (dependency
  closure); ``from __future__`` imports are hoisted to the top;
* dropped with a warning: a kept statement needing names that nothing kept defines (``N_CLASSES
  = scores.shape[1]`` when ``scores`` comes from exploration), and unused imports of packages
  the sandbox lacks (``from tqdm import tqdm``, ``from google.colab import drive``);
* never run: cells tagged ``explore`` or ``public-tests`` (the release tags its own), IPython
  magics and shell lines, and every other top-level statement (training, plots, prints).

Every line of the derived module maps back to (cell, line) so messages can name the cell.

This file uses only the standard library: intake runs it as a script in a child interpreter
under memory and CPU rlimits (``convert``), so a hostile notebook cannot exhaust the trusted
process.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import resource
import subprocess
import sys
from dataclasses import dataclass, field

GRADED_TAG = "graded"                            # release cells holding the stub code
SETUP_TAG = "graded-setup"                       # run in full at grading time
EXPLORE_TAG = "explore"                          # release exploration cells: never graded
TESTS_TAG = "public-tests"                       # the release's test cell: never graded
SKIPPED_TAGS = frozenset({EXPLORE_TAG, TESTS_TAG})
MAX_NOTEBOOK_BYTES = 32 << 20                    # the .ipynb file, outputs included
MAX_CODE_BYTES = 1 << 20                         # the text of all code cells together
SANDBOX_PACKAGES = frozenset({"numpy"})          # besides the standard library; torch for a6
BUILTIN_NAMES = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__"}


class NotebookError(ValueError):
    """The notebook cannot become a module; the message is for the student."""


@dataclass(frozen=True)
class Limits:
    """Resources of the child interpreter that converts one notebook."""

    memory_mb: int = 512
    cpu_s: int = 10
    wall_s: float = 30.0


@dataclass
class DerivedModule:
    """The graded module made from a notebook, and where each of its lines came from."""

    notebook: str                                 # the notebook's file name
    code: str
    line_map: list[tuple[int, int] | None]        # derived line i+1 -> (cell, line) or None
    warnings: list[str] = field(default_factory=list)
    heads: dict[int, str] = field(default_factory=dict)  # cell -> its first line, shortened

    def where(self, line: int) -> str | None:
        """``cell 7, line 3 (cell starting `def relu(x):`)`` for a line of the derived module
        (1-based), if it has one: Colab shows no cell numbers, the cell's first line does."""
        if 1 <= line <= len(self.line_map) and self.line_map[line - 1] is not None:
            cell, within = self.line_map[line - 1]
            return cell_line(cell, within, self.heads.get(cell, ""))
        return None

    def relocate(self, text: str, module_file: str) -> str:
        """Rewrite mentions of ``module_file`` lines (tracebacks, syntax errors) into cells."""
        def file_line(m: re.Match) -> str:
            where = self.where(int(m.group(1)))
            return f'File "{self.notebook}", {where}' if where else m.group(0)

        def paren(m: re.Match) -> str:
            where = self.where(int(m.group(1)))
            return f"({self.notebook}, {where})" if where else m.group(0)

        def bare(m: re.Match) -> str:
            where = self.where(int(m.group(2)))
            return f"{m.group(1)}{where}:" if where else m.group(0)

        name = re.escape(module_file)
        text = text.replace(f"importing {module_file}",
                            f"running the graded cells of {self.notebook}")
        text = re.sub(rf'File "{name}", line (\d+)', file_line, text)
        text = re.sub(rf"\({name}, line (\d+)\)", paren, text)
        return re.sub(r"(?m)^(\s+)line (\d+):", bare, text)  # the worker's syntax error line


    def relocate_result(self, result: dict, module_file: str) -> dict:
        """A results.json record with every message pointing at notebook cells."""
        tests = [{**t, "output": self.relocate(t["output"], module_file)}
                 for t in result["tests"]]
        error = result["error"] and self.relocate(result["error"], module_file)
        return {**result, "tests": tests, "error": error,
                "output": self.relocate(result["output"], module_file)}


def cell_name(cell: int, head: str) -> str:
    """``cell 7 (`def relu(x):`)``: the number Jupyter counts and the line Colab shows."""
    return f"cell {cell} (`{head}`)" if head else f"cell {cell}"


def cell_line(cell: int, line: int, head: str) -> str:
    """``cell 7, line 3 (cell starting `def relu(x):`)``."""
    return f"cell {cell}, line {line}" + (f" (cell starting `{head}`)" if head else "")


def cell_head(source: str, width: int = 50) -> str:
    """A cell's first non-blank line, shortened to ``width`` characters."""
    line = next((x.strip() for x in source.splitlines() if x.strip()), "")
    return line if len(line) <= width else line[:width - 1] + "…"


def sandbox_packages(torch_in_sandbox: bool) -> frozenset[str]:
    """What a submission can import in the sandbox besides the standard library."""
    return SANDBOX_PACKAGES | ({"torch"} if torch_in_sandbox else set())


@dataclass
class _Unit:
    """One top-level statement (or one whole graded-setup cell) of a code cell."""

    cell: int
    lines: list[str]                              # its source lines
    first: int                                    # line of lines[0] within the cell
    kind: str                                     # future, import, def, binding, setup, other
    binds: set[str]
    eager: set[str]                               # names read when the statement runs
    lazy: set[str]                                # names read later, by function bodies
    root: bool = False                            # kept unless it cannot run
    modules: tuple[str, ...] = ()                 # top-level packages an import needs
    calls: set[str] = field(default_factory=set)  # names called when the statement runs
    needed: bool = False                          # graded code: a def, lambda or setup cell
    runs_own: bool = False                        # calls the notebook's own functions
    mutates: set[str] = field(default_factory=set)  # names it changes in place (x.append)
    head: str = ""                                # the cell's first line

    @property
    def uses(self) -> set[str]:
        return self.eager | self.lazy

    @property
    def label(self) -> str:
        text = self.lines[0].strip()
        where = cell_line(self.cell, self.first, "" if self.first == 1 else self.head)
        return f"{where}: `{text[:60]}`"


# -- reading ----------------------------------------------------------------------------------

def read_cells(data: bytes) -> list[dict]:
    """The cells of an nbformat 4 notebook (plain JSON; any layout problem is NotebookError)."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB; "
                            "clear its outputs (Edit > Clear all outputs) and save again")
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotebookError(f"not a valid Jupyter notebook ({type(exc).__name__}: "
                            f"{str(exc)[:200]})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a valid Jupyter notebook (no list of cells)")
    if nb.get("nbformat") != 4:
        raise NotebookError(f"not a valid Jupyter notebook (nbformat {nb.get('nbformat')!r}; "
                            "open it in Jupyter or Colab and save it again)")
    cells = []
    for number, cell in enumerate(nb["cells"], start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else None
        tags = meta.get("tags", []) if isinstance(meta, dict) else None
        if not isinstance(source, str) or not isinstance(tags, list):
            raise NotebookError(f"not a valid Jupyter notebook (cell {number} is malformed)")
        cells.append({"type": cell.get("cell_type"), "source": source,
                      "tags": [t for t in tags if isinstance(t, str)]})
    code = sum(len(c["source"]) for c in cells if c["type"] == "code")
    if code > MAX_CODE_BYTES:
        raise NotebookError(f"the notebook's code cells hold {code / 1e6:.1f} MB of text; at "
                            f"most {MAX_CODE_BYTES >> 20} MiB are graded (is data pasted into "
                            "a cell? load it from a file instead)")
    return cells


def _clean(source: str) -> tuple[str, list[str]]:
    """Cell source with IPython magics and shell escapes blanked (line numbers kept; an
    indented one becomes ``pass``, so its block stays valid), and the lines blanked."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out, magics = [], []
    for line in lines:
        text = line.lstrip()
        if text.startswith(("%", "!")):
            magics.append(text)
            indent = line[:len(line) - len(text)]
            line = f"{indent}pass" if indent else ""
        out.append(line)
    return "\n".join(out), magics


# -- names ------------------------------------------------------------------------------------

def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _scope_free(node: ast.AST) -> set[str]:
    """Names a function or lambda reads from outside itself (locals of nested scopes are
    counted as its own: close enough to decide what the module must define)."""
    bound: set[str] = set()
    declared_global: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            bound.add(n.id)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and n is not node:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update(_import_names(n))
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.Global):
            declared_global.update(n.names)
    return _loads(node) - (bound - declared_global)


def _import_names(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}


def _names(node: ast.stmt) -> tuple[set[str], set[str]]:
    """(eager, lazy): names read when ``node`` runs at top level, and by its function bodies."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        eager: set[str] = set()
        for part in [*getattr(node, "decorator_list", []), *args.defaults,
                     *[d for d in args.kw_defaults if d is not None]]:
            eager |= _expr_names(part)[0]
        return eager, _scope_free(node)
    if isinstance(node, ast.ClassDef):
        eager, lazy = set(), set()
        for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            e, lz = _expr_names(part)
            eager, lazy = eager | e, lazy | lz
        inner: set[str] = set()
        for stmt in node.body:
            e, lz = _names(stmt)
            eager, lazy = eager | (e - inner), lazy | lz
            inner |= _binds(stmt)
        return eager, lazy
    return _expr_names(node)


def _expr_names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(eager, lazy) names of any node: lambdas and nested functions count as lazy."""
    eager, lazy = set(), set()
    deferred = [n for n in ast.walk(node) if isinstance(n, (ast.Lambda, ast.FunctionDef,
                                                            ast.AsyncFunctionDef))]
    skip = {id(n) for d in deferred for n in ast.walk(d)}
    for d in deferred:
        e, lz = _names(d)
        eager, lazy = eager | e, lazy | lz
    comp_targets = {n.id for c in ast.walk(node) if isinstance(c, ast.comprehension)
                    for n in ast.walk(c.target) if isinstance(n, ast.Name)}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in skip:
            eager.add(n.id)
    return eager - comp_targets, lazy


def _binds(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _import_names(node)
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _is_literal(node: ast.expr) -> bool:
    """A value built only from constants (no calls, no names)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) \
            and all(_is_literal(v) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    return False


# -- the contract -----------------------------------------------------------------------------

def _units(cells: list[dict]) -> tuple[list[_Unit], list[str]]:
    units: list[_Unit] = []
    warnings: list[str] = []
    for number, cell in enumerate(cells, start=1):
        if cell["type"] != "code" or SKIPPED_TAGS & set(cell["tags"]):
            continue
        head = cell_head(cell["source"])
        if cell["source"].lstrip().startswith("%%"):
            if cell["source"].strip().count("\n"):  # a bare %%magic line holds no code
                warnings.append(f"{cell_name(number, head)} was left out: a cell that "
                                f"starts with a cell magic ({head.split()[0]}) is not run "
                                "when grading; remove that line if the cell holds code to "
                                "grade")
            continue
        text, magics = _clean(cell["source"])
        if magics:
            shown = ", ".join(f"`{m[:40]}`" for m in magics[:3])
            more = f" and {len(magics) - 3} more" if len(magics) > 3 else ""
            warnings.append(f"{cell_name(number, head)}: {shown}{more} left out: IPython "
                            "magics and shell commands are not run when grading")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 1
            warnings.append(f"{cell_line(number, line, head)}: syntax error "
                            f"({getattr(exc, 'msg', exc)}); this cell was left out")
            continue
        lines = text.split("\n")
        if SETUP_TAG in cell["tags"]:
            eager, lazy = set(), set()
            for node in tree.body:
                e, lz = _names(node)
                eager, lazy = eager | e, lazy | lz
            units.append(_Unit(number, lines, 1, "setup",
                               set().union(*map(_binds, tree.body)) if tree.body else set(),
                               eager, lazy, root=True, needed=True, head=head))
            continue
        for node in tree.body:
            unit = _unit(number, lines, node)
            unit.head = head
            units.append(unit)
    return units, warnings


def _unit(cell: int, lines: list[str], node: ast.stmt) -> _Unit:
    start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
    source = lines[start - 1:node.end_lineno]
    if start == node.lineno:
        source[0] = source[0][node.col_offset:]
    if len(source) == 1 and start == node.lineno:
        source[0] = source[0][:node.end_col_offset - node.col_offset]
    else:
        source[-1] = source[-1][:node.end_col_offset]
    eager, lazy = _names(node)
    binds = _binds(node)
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return _Unit(cell, source, start, "future", set(), set(), set(), root=True)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = tuple(a.name.split(".")[0] for a in node.names) if isinstance(node, ast.Import) \
            else ((node.module or "").split(".")[0],) if not node.level else ()
        return _Unit(cell, source, start, "import", binds, eager, lazy, modules=modules)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return _Unit(cell, source, start, "def", binds, eager, lazy, root=True, needed=True)
    value = getattr(node, "value", None)
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, ast.AnnAssign) else []
    names_only = targets and all(isinstance(n, ast.Name) for t in targets for n in
                                 (t.elts if isinstance(t, ast.Tuple) else [t]))
    if value is not None and names_only:
        capitalized = all(name[0].isupper() for name in binds)
        root = isinstance(value, ast.Lambda) or _is_literal(value) or capitalized
        calls = {n.func.id for n in ast.walk(value) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name)} & eager
        return _Unit(cell, source, start, "binding", binds, eager, lazy, root=root,
                     calls=calls, needed=isinstance(value, ast.Lambda),
                     mutates=_mutated(node))
    calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)} & eager
    return _Unit(cell, source, start, "other", binds, eager, lazy, calls=calls,
                 mutates=_mutated(node))


# Methods that change lists, dicts, sets and arrays in place (not rng.normal or model.eval:
# calls on a generator or model would leave out every constant read after them).
MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort",
                              "reverse", "update", "setdefault", "popitem", "add", "discard",
                              "fill", "resize", "put", "itemset"})


def _mutated(node: ast.stmt) -> set[str]:
    """Names a statement changes in place: ``x.append(...)`` (MUTATING_METHODS),
    ``x[i] = ...``, ``x.attr = ...``, ``del x[i]``, ``x += ...``."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and isinstance(n.func.value, ast.Name) and n.func.attr in MUTATING_METHODS:
            names.add(n.func.value.id)
        elif isinstance(n, (ast.Subscript, ast.Attribute)) \
                and isinstance(n.ctx, (ast.Store, ast.Del)) and isinstance(n.value, ast.Name):
            names.add(n.value.id)
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            names.add(n.target.id)
    return names


def derive(cells: list[dict], notebook: str = "notebook.ipynb", *,
           packages: frozenset[str] = SANDBOX_PACKAGES) -> DerivedModule:
    """The graded module of a notebook's cells (see the module docstring for the rules)."""
    units, warnings = _units(cells)
    available = packages | frozenset(sys.stdlib_module_names)
    own_functions = {n for u in units if u.kind == "def" for n in u.binds}
    for u in units:
        if u.kind == "import":
            u.root = all(m in available for m in u.modules)
        elif u.kind == "binding":
            u.runs_own = bool(u.calls & own_functions)
            u.root = u.root and not u.runs_own  # that would train or plot at import
    providers: dict[str, list[_Unit]] = {}
    for u in units:
        if u.kind in ("import", "binding"):
            for name in u.binds:
                providers.setdefault(name, []).append(u)
    kept = [u for u in units if u.root]
    kept_ids = {id(u) for u in kept}
    # Graded code (definitions, lambdas, setup cells) may pull in any binding it needs; a
    # constant that nothing graded uses may not (N_CLASSES = scores.shape[1] runs only if
    # `scores` is kept anyway), so exploration is never run to compute it.
    pulling = {id(u) for u in kept if u.needed}
    dropped: dict[int, str] = {}
    changes: dict[int, str] = {}  # left out: what they read is changed by code not run
    changed = True
    while changed:  # a dropped binding may leave an earlier binding of its name to pull in
        pulled = _pull(kept, kept_ids, pulling, providers, dropped)
        changed = _drop(kept, kept_ids, dropped) or pulled
        changed = _settle_changes(units, kept_ids, own_functions, dropped, changes) or changed
        kept = [u for u in units if id(u) in kept_ids]
    for u in units:
        if id(u) in changes and id(u) not in kept_ids:
            warnings.append(f"{u.label} was left out: {changes[id(u)]}")
        elif id(u) in dropped:
            warnings.append(f"{u.label} was left out: it needs {dropped[id(u)]}, which no "
                            "graded code defines")
        elif u.kind == "import" and id(u) not in kept_ids:
            warnings.append(f"{u.label} was left out: {', '.join(u.modules)} is not "
                            "installed where your code is graded, and no graded code uses it")
        elif u.runs_own and id(u) not in kept_ids and all(n[0].isupper() for n in u.binds):
            warnings.append(f"{u.label} is not run when grading: it calls your own "
                            "functions (training or exploration)")
    # Colab's own calls (drive.mount, files.upload) need Colab: say so, once per statement.
    colab = {n for u in units if u.kind == "import" and "google" in u.modules
             and id(u) not in kept_ids for n in u.binds}
    for u in units:
        if u.kind == "other" and u.eager & colab:
            warnings.append(f"{u.label} is not run when grading: it needs Google Colab "
                            f"(`{sorted(u.eager & colab)[0]}` from google.colab); files it "
                            "would read must come with your submission")
    bound = BUILTIN_NAMES | {n for u in kept for n in u.binds}
    # Names a kept function reads that only left-out bindings set (N_CLASSES = scores...).
    set_elsewhere = {n: u for u in units if id(u) not in kept_ids
                     and u.kind in ("import", "binding") for n in u.binds}
    for u in kept:
        for name in sorted((u.lazy - bound) & set(set_elsewhere)):
            warnings.append(f"{u.label} uses `{name}`, but only code the grader does not "
                            f"run sets it ({set_elsewhere[name].label})")
    return _assemble(notebook, units, kept_ids, warnings)


def _pull(kept: list[_Unit], kept_ids: set[int], pulling: set[int],
          providers: dict[str, list[_Unit]], dropped: dict[int, str]) -> bool:
    """Keep the last binding of every name graded code needs, transitively (a worklist over
    the units that pull); returns whether anything was added."""
    by_name: dict[str, list[_Unit]] = {}
    for u in kept:
        for name in u.binds:
            by_name.setdefault(name, []).append(u)
    queue = [u for u in kept if id(u) in pulling]
    added = False
    while queue:
        requester = queue.pop()
        for name in sorted(requester.uses):
            if name in BUILTIN_NAMES:
                continue
            if name not in by_name:
                candidates = [u for u in providers.get(name, []) if id(u) not in kept_ids
                              and id(u) not in dropped and _may_pull(requester, u)]
                if not candidates:
                    continue
                new = candidates[-1]
                kept.append(new)
                kept_ids.add(id(new))
                added = True
                for bound in new.binds:
                    by_name.setdefault(bound, []).append(new)
            for u in by_name[name]:
                if id(u) not in pulling:
                    pulling.add(id(u))
                    queue.append(u)
    return added


def _settle_changes(units: list[_Unit], kept_ids: set[int], own_functions: set[str],
                    dropped: dict[int, str], changes: dict[int, str]) -> bool:
    """A kept statement reading a value that left-out code changed in place in between
    (``results = []``, a loop appending to it, ``BEST = min(results)``) would see it
    unchanged: keep those changes when they can run (they call none of the notebook's own
    functions and need only kept names), else leave the reader out (``changes`` says why).
    One pass over the units; returns whether anything was kept or left out (the caller
    settles the consequences and asks again)."""
    binders: dict[str, list[int]] = {}
    changed_by: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        if id(u) in kept_ids and u.kind in ("binding", "setup"):
            for name in u.binds:
                binders.setdefault(name, []).append(i)
        for name in u.mutates:
            changed_by.setdefault(name, []).append(i)
    bound = BUILTIN_NAMES | {n for u in units if id(u) in kept_ids for n in u.binds}
    any_change = False
    for j, reader in enumerate(units):
        if id(reader) not in kept_ids or reader.kind == "def":
            continue
        for name in sorted(reader.eager & changed_by.keys()):
            start = max((i for i in binders.get(name, ()) if i < j), default=None)
            changers = [units[i] for i in changed_by[name] if start is not None
                        and start < i < j and id(units[i]) not in kept_ids]
            if not changers:
                continue
            blocked = [u for u in changers if id(u) in dropped or id(u) in changes
                       or u.kind not in ("other", "binding") or u.calls & own_functions
                       or not u.eager <= bound | u.binds]
            if blocked:
                kept_ids.discard(id(reader))
                changes[id(reader)] = (f"`{name}` is changed by {blocked[0].label}, which is "
                                       "not run when grading")
            else:
                kept_ids.update(id(u) for u in changers)
                bound |= {n for u in changers for n in u.binds}
            any_change = True
            break
    return any_change


def _may_pull(requester: _Unit, unit: _Unit) -> bool:
    """Graded code may pull in a binding that runs none of the notebook's own functions
    (those train or explore), and an import the sandbox lacks only by using it directly."""
    if unit.kind == "import":
        return unit.root or requester.needed
    return not unit.runs_own


def _drop(kept: list[_Unit], kept_ids: set[int], dropped: dict[int, str]) -> bool:
    """Leave out every kept unit that reads, when it runs, a name nothing kept binds, and
    then what needed that unit's names (a worklist); returns whether anything was dropped."""
    binders: dict[str, int] = {}
    readers: dict[str, list[_Unit]] = {}
    for u in kept:
        for name in u.binds:
            binders[name] = binders.get(name, 0) + 1
        for name in u.eager:
            readers.setdefault(name, []).append(u)
    queue = list(kept)
    any_dropped = False
    while queue:
        u = queue.pop()
        missing = sorted(n for n in u.eager if n not in BUILTIN_NAMES and not binders.get(n))
        if id(u) not in kept_ids or not missing:
            continue
        kept_ids.discard(id(u))
        dropped[id(u)] = ", ".join(missing)
        any_dropped = True
        for name in u.binds:
            binders[name] -= 1
            if not binders[name]:
                queue += readers.get(name, [])
    return any_dropped


def _assemble(notebook: str, units: list[_Unit], kept_ids: set[int],
              warnings: list[str]) -> DerivedModule:
    lines: list[str] = [f"# The graded module, derived from {notebook} by the grader.",
                        "# Comments '# cell N (its first line)' say which notebook cell the "
                        "code below comes from (cells counted from the top, text cells "
                        "included)."]
    line_map: list[tuple[int, int] | None] = [None, None]
    futures = [u for u in units if u.kind == "future"]
    for u in futures:
        lines.append(" ".join(u.lines))
        line_map.append((u.cell, u.first))
    cell = None
    for u in units:
        if id(u) not in kept_ids or u.kind == "future":
            continue
        header = [f"# {cell_name(u.cell, u.head).replace('`', '')}"] if u.cell != cell else []
        cell = u.cell
        lines += ["", *header]
        line_map += [None] * (1 + len(header))
        lines += u.lines
        line_map += [(u.cell, u.first + i) for i in range(len(u.lines))]
    heads = {u.cell: u.head for u in units if id(u) in kept_ids and u.head}
    return DerivedModule(notebook, "\n".join(lines) + "\n", line_map, warnings, heads)


# -- the resource-limited child ---------------------------------------------------------------

def convert(data: bytes, notebook: str, *, packages: frozenset[str] = SANDBOX_PACKAGES,
            limits: Limits = Limits()) -> DerivedModule:
    """``derive`` run in a child interpreter under rlimits (set by the child before it reads
    the notebook); raises NotebookError."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{notebook} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB; "
                            "clear its outputs and save again")

    request = json.dumps({"notebook": notebook, "packages": sorted(packages),
                          "memory_mb": limits.memory_mb, "cpu_s": limits.cpu_s})
    too_much = (f"converting {notebook} needed more than the allowed "
                f"{limits.memory_mb} MiB of memory or {limits.cpu_s} s of CPU time "
                f"({limits.wall_s:g} s in all)")
    try:
        done = subprocess.run([sys.executable, "-I", "-S", __file__, request], input=data,
                              capture_output=True, timeout=limits.wall_s, check=False)
    except subprocess.TimeoutExpired:
        raise NotebookError(too_much) from None
    try:
        reply = json.loads(done.stdout)
    except ValueError:
        reply = None
    if done.returncode != 0 or not isinstance(reply, dict) or reply.get("over_limit"):
        raise NotebookError(too_much)
    if reply.get("error"):
        raise NotebookError(reply["error"])
    return DerivedModule(notebook, reply["code"],
                         [tuple(x) if x else None for x in reply["line_map"]],
                         reply["warnings"], {int(k): v for k, v in reply["heads"].items()})


def _child_main() -> None:
    request = json.loads(sys.argv[1])
    # The limits are set before the notebook is read: it is data, never run, so limiting
    # here is as safe as in a preexec hook and lets the parent spawn without forking itself.
    memory = request["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_s"], request["cpu_s"]))
    data = sys.stdin.buffer.read()
    try:
        derived = derive(read_cells(data), request["notebook"],
                         packages=frozenset(request["packages"]))
        reply = {"code": derived.code, "line_map": derived.line_map,
                 "warnings": derived.warnings, "heads": derived.heads}
    except NotebookError as exc:
        reply = {"error": str(exc)}
    except RecursionError:
        reply = {"error": "the notebook's code is nested too deeply to read"}
    except MemoryError:
        reply = {"over_limit": True}
    sys.stdout.write(json.dumps(reply))


if __name__ == "__main__":  # the child: python -I -S .../notebook.py, standard library only
    _child_main()
