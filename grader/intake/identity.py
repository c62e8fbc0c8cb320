"""Who handed in what: LMS naming presets, the course roster and a plan for every batch entry.

A batch is a folder of entries (files or folders). Each entry is parsed by the configured
``student_id`` rule into an :class:`Attempt` (who, display name, attempt order, late flag),
mapped to a course id through the roster when there is one, and then:

* the latest attempt of each student is graded; older ones are ``superseded``;
* an entry that is not a submission is ``refused`` with a reason (unknown file type, a name the
  rule does not recognise, unreadable) or kept as a ``receipt`` (Blackboard's per-attempt .txt,
  Gradescope's metadata file);
* each student gets a results folder name that is safe on disk and distinct from every other
  student's (case-insensitively), keeping Unicode; a clash is resolved with a hash suffix and a
  warning, never by letting two students share one result.

The naming facts each preset relies on are listed in docs/LMS.md.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from grader.intake.walk import WalkError, read_head, walk

CODE_SUFFIXES = (".py", ".ipynb", ".zip")
PRESETS = ("stem", "parent", "canvas", "moodle", "blackboard", "gradescope")
ID_GROUP = "id"
# Operating-system litter, not entries of a batch.
_LITTER = re.compile(r"^(__MACOSX|\.DS_Store|Thumbs\.db|desktop\.ini|__pycache__|"
                     r"\.ipynb_checkpoints)$")
_MAX_ID_BYTES = 120  # well under the 255-byte name limit of common file systems
_GRADESCOPE_METADATA = "submission_metadata.yml"

_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?P<late>LATE_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_CANVAS_RESUBMISSION = re.compile(r"^(?P<base>.+)-(?P<n>\d+)$")
# Moodle 3.1+ names the folder ``<name>_<id>_assignsubmission_file`` (moodle/moodle,
# mod/assign/classes/downloader.php); older exports and flat downloads add ``_<file name>``.
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>file|onlinetext)"
                     r"(?:_(?P<file>.*))?$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+?)_(?P<id>[^_]+)_attempt_"
                         r"(?P<when>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+)|\.txt)$")
_GRADESCOPE = re.compile(r"^submission_(?P<id>\d+)$")


class IdentityError(ValueError):
    """A student_id rule or a roster that cannot be used; the message names what and where."""


@dataclass(frozen=True)
class Attempt:
    """What an entry's name says about who handed it in."""

    key: str                       # the LMS's id of the student (before the roster)
    display_name: str
    order: tuple = ()              # later attempts compare greater
    late: bool | None = None       # the LMS's own late marker, None when it has none
    receipt: bool = False          # a file the LMS adds next to an attempt (not code)
    refused: str = ""              # not gradable although recognised (Moodle online text)
    members: tuple[str, ...] = ()  # everyone a group submission belongs to


@dataclass
class BatchEntry:
    """One entry of a batch and what becomes of it."""

    path: Path                     # the entry as found
    status: str                    # graded | superseded | refused | receipt
    source: Path | None = None     # what is staged (the entry, or the folder inside it)
    student_id: str = ""           # the results folder name
    display_name: str = ""
    lms_id: str = ""
    late: bool | None = None
    members: tuple[str, ...] = ()
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    order: tuple = ()
    sha256: str = ""               # over what the student handed in; set by the batch (digest)

    def as_record(self, root: Path) -> dict:
        """Plain form for ``batch_entries.json`` (reports list every entry from it)."""
        return {"entry": _relative(self.path, root), "status": self.status,
                "student_id": self.student_id, "display_name": self.display_name,
                "reason": self.reason}


@dataclass
class BatchPlan:
    root: Path
    entries: list[BatchEntry]
    warnings: list[str] = field(default_factory=list)

    def graded(self) -> list[BatchEntry]:
        return [e for e in self.entries if e.status == "graded"]

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


# -- roster ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterStudent:
    student_id: str                # the course's id (SIS id): results and gradebook use it
    name: str = ""
    email: str = ""
    lms_ids: tuple[str, ...] = ()  # Canvas user id, Moodle participant id, Blackboard user...
    sis_login_id: str = ""
    section: str = ""


@dataclass(frozen=True)
class Roster:
    path: Path
    students: tuple[RosterStudent, ...]

    @cached_property
    def _index(self) -> dict[str, RosterStudent]:
        # load_roster refuses a key naming two students, so the index is unambiguous.
        return {k.casefold(): s for s in self.students
                for k in (s.student_id, s.email, *s.lms_ids) if k}

    def lookup(self, key: str) -> RosterStudent | None:
        """The student whose course id, LMS id or email is ``key`` (case-insensitive)."""
        return self._index.get(key.strip().casefold())


ROSTER_COLUMNS = ("student_id", "name", "email", "lms_id", "sis_login_id", "section")


def load_roster(path: Path) -> Roster:
    """Read a roster CSV (header: student_id required; name, email, lms_id (several separated
    by ``;``), sis_login_id, section optional). Raises IdentityError naming file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read roster {path}: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # Excel's "CSV" is the Windows code page, not UTF-8
        line = data.count(b"\n", 0, exc.start) + 1
        raise IdentityError(f"{path.name}:{line}: not UTF-8 (byte {data[exc.start]:#04x}); "
                            "save the roster as UTF-8 (in Excel: Save As > CSV UTF-8)") \
            from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise IdentityError(f"{path.name}:1: empty roster (expected a header with student_id)")
    header = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if "student_id" not in header or unknown:
        raise IdentityError(f"{path.name}:1: header must name student_id and only "
                            f"{', '.join(ROSTER_COLUMNS)}; got {', '.join(header)}")
    seen: dict[str, int] = {}
    students = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise IdentityError(f"{path.name}:{line}: {len(row)} cells, the header has "
                                f"{len(header)}")
        cells = dict(zip(header, (c.strip() for c in row), strict=False))  # short rows: empty
        sid = cells.get("student_id", "")
        if not sid:
            raise IdentityError(f"{path.name}:{line}: student_id is empty")
        lms_ids = tuple(i.strip() for i in cells.get("lms_id", "").split(";") if i.strip())
        for key in (sid, *lms_ids, cells.get("email", "")):
            if key and key.casefold() in seen:
                raise IdentityError(f"{path.name}:{line}: {key!r} already names the student "
                                    f"on line {seen[key.casefold()]}")
            if key:
                seen[key.casefold()] = line
        students.append(RosterStudent(sid, cells.get("name", ""), cells.get("email", ""),
                                      lms_ids, cells.get("sis_login_id", ""),
                                      cells.get("section", "")))
    return Roster(path, tuple(students))


# -- rules -----------------------------------------------------------------------------------

def check_rule(rule: str) -> str:
    """``rule`` if it is a preset or a ``regex:`` with an ``id`` group; else IdentityError."""
    if rule in PRESETS:
        return rule
    if not rule.startswith("regex:"):
        raise IdentityError(f"expected one of {', '.join(PRESETS)} or regex:<pattern>, "
                            f"got {rule!r}")
    try:
        pattern = re.compile(rule.removeprefix("regex:"))
    except re.error as exc:
        raise IdentityError(f"not a valid regular expression: {exc}") from None
    if ID_GROUP not in pattern.groupindex:
        raise IdentityError("the pattern needs a named group (?P<id>...) for the student")
    return rule


def _stem_attempt(path: Path) -> Attempt:
    name = (path.name if path.is_dir() else path.stem).strip()
    return Attempt(name, name)


def _canvas(path: Path) -> Attempt | None:
    m = _CANVAS.match(path.name)
    if m is None:
        return None
    stem = Path(m["file"]).stem
    resub = _CANVAS_RESUBMISSION.match(stem)
    again = int(resub["n"]) if resub else 0
    return Attempt(m["id"], m["name"], (int(m["sub"]), again), late=bool(m["late"]))


def _moodle(path: Path) -> Attempt | None:
    m = _MOODLE.match(path.name)
    if m is None:
        return None
    refused = "Moodle online text is not a code submission" if m["plugin"] == "onlinetext" \
        else ""
    return Attempt(m["id"], m["name"], refused=refused)


def _blackboard(path: Path) -> Attempt | None:
    m = _BLACKBOARD.match(path.name)
    if m is None:
        return None
    receipt = m["file"] is None
    name = _receipt_name(path) if receipt else ""
    return Attempt(m["id"], name or m["id"], (m["when"],), receipt=receipt)


def _receipt_name(path: Path) -> str:
    """The ``Name: Full Name (username)`` line of a Blackboard receipt."""
    try:
        head = read_head(path, 4096).decode("utf-8", errors="replace")
    except (OSError, WalkError):
        return ""
    m = re.search(r"^Name:\s*(.+?)\s*(\([^)]*\))?\s*$", head, re.MULTILINE)
    return m[1] if m else ""


def _gradescope(root: Path) -> Callable[[Path], Attempt | None]:
    metadata = _read_gradescope_metadata(root)

    def parse(path: Path) -> Attempt | None:
        if path.name == _GRADESCOPE_METADATA:
            return Attempt("", "", receipt=True)
        m = _GRADESCOPE.match(path.name)
        if m is None:
            return None
        info = metadata.get(path.name) or {}
        people = [p for p in info.get(":submitters") or [] if isinstance(p, dict)]
        ids = tuple(str(p.get(":sid") or p.get(":email") or "") for p in people)
        ids = tuple(i for i in ids if i)
        names = ", ".join(str(p.get(":name") or "") for p in people if p.get(":name"))
        created = str(info.get(":created_at") or "")
        if not ids:
            return Attempt(path.name, names or path.name, (created,))
        return Attempt(ids[0], names or ids[0], (created,), members=ids)

    return parse


def _read_gradescope_metadata(root: Path) -> dict:
    path = root / _GRADESCOPE_METADATA
    try:
        # The C loader when built: an export's metadata has an entry per submission.
        data = yaml.load(path.read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _regex(pattern: str) -> Callable[[Path], Attempt | None]:
    compiled = re.compile(pattern)

    def parse(path: Path) -> Attempt | None:
        m = compiled.fullmatch(path.name)
        if m is None or not m[ID_GROUP]:
            return None
        groups = m.groupdict()
        attempt = groups.get("attempt") or ""
        order = (int(attempt) if attempt.isdigit() else -1, attempt)
        late = bool(groups["late"]) if "late" in groups else None
        return Attempt(m[ID_GROUP], groups.get("name") or m[ID_GROUP], order, late=late)

    return parse


def parser_for(rule: str, root: Path) -> Callable[[Path], Attempt | None]:
    """The entry parser of a rule; ``stem`` and ``parent`` accept every entry."""
    check_rule(rule)
    if rule in ("stem", "parent"):
        return _stem_attempt
    if rule == "gradescope":
        return _gradescope(root)
    if rule.startswith("regex:"):
        return _regex(rule.removeprefix("regex:"))
    return {"canvas": _canvas, "moodle": _moodle, "blackboard": _blackboard}[rule]


# -- ids on disk -----------------------------------------------------------------------------

def safe_id(text: str) -> str:
    """A folder name for ``text``: letters and digits of any script and ``_.@+-`` kept, each
    run of anything else one ``_``; never hidden, never empty, at most 120 bytes. Not
    injective: :func:`assign_ids` keeps ids distinct."""
    text = unicodedata.normalize("NFC", text.strip())
    safe = re.sub(r"[^\w.@+-]+", "_", text).lstrip(".-")
    if not _encodable(safe):
        ascii_only = unicodedata.normalize("NFKD", safe).encode("ascii", "ignore").decode()
        safe = ascii_only.lstrip(".-") + "-" + _short_hash(text)
    while len(safe.encode()) > _MAX_ID_BYTES:
        safe = safe[:-1]
    # Nothing recognisable left (an emoji-only name): the hash keeps such names apart.
    return safe if any(c.isalnum() for c in safe) else f"student-{_short_hash(text)}"


def _encodable(name: str) -> bool:
    try:
        name.encode(sys.getfilesystemencoding())
    except (UnicodeError, LookupError):
        return False
    return True


def _short_hash(text: str) -> str:
    # A key from a file name that is not UTF-8 holds lone surrogates: hash its bytes.
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def assign_ids(keys: list[str]) -> tuple[dict[str, str], list[str]]:
    """A distinct folder name per key (compared case-insensitively, as macOS and Windows do),
    and a warning for each key whose safe name had to be disambiguated."""
    taken: dict[str, str] = {}
    ids: dict[str, str] = {}
    warnings = []
    for key in sorted(set(keys)):
        sid = safe_id(key)
        if sid.casefold() in taken:
            clash = taken[sid.casefold()]
            sid = f"{sid[:100]}-{_short_hash(key)}"
            warnings.append(f"students {clash!r} and {key!r} map to the same folder name; "
                            f"{key!r} is stored as {sid!r}")
        taken[sid.casefold()] = key
        ids[key] = sid
    return ids, warnings


# -- planning a batch ------------------------------------------------------------------------

def _is_litter(path: Path) -> bool:
    return path.name.startswith(".") or bool(_LITTER.match(path.name))


def _is_code(path: Path) -> bool:
    return path.suffix.lower() in CODE_SUFFIXES


def submission_root(folder: Path) -> Path:
    """The folder inside ``folder`` that holds the code: a chain of folders that each hold a
    single folder and no code (``alice/a1_backprop/backprop.py``) is followed down."""
    for _ in range(8):
        entries = [p for p in folder.iterdir() if not _is_litter(p)]
        if any(_is_code(p) for p in entries if p.is_file()) or len(entries) != 1 \
                or not entries[0].is_dir() or entries[0].is_symlink():
            return folder
        folder = entries[0]
    return folder


def staged_source(entry: Path, module: str) -> Path:
    """What to stage for an entry: a file as is; for a folder, its submission root, or the
    single code file in it when that file's name is not exactly lower-case."""
    if not entry.is_dir():
        return entry
    root = submission_root(entry)
    if (root / f"{module}.py").is_file():
        return root
    code = [p for p in root.iterdir() if p.is_file() and not _is_litter(p) and _is_code(p)]
    if len(code) == 1 and code[0].suffix != code[0].suffix.lower():
        return code[0]
    return root


def _defined_functions(path: Path) -> set[str]:
    import ast

    try:
        code = read_head(path, (1 << 20) + 1)  # never a link (to /proc/...) nor a pipe
        if len(code) > 1 << 20:
            return set()
        tree = ast.parse(code)
    # The parser's own stack overflows as MemoryError (100,000 minus signs) or RecursionError
    except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):  # WalkError too
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def is_single_submission(folder: Path, module: str, rule: str = "stem",
                         parse: Callable[[Path], Attempt | None] | None = None) -> bool:
    """Whether ``folder`` is one student's submission rather than a batch.

    It is one submission when it holds the module (``<module>.py`` in any case) or exactly one
    notebook or zip, AND no sibling entry looks like another student's submission: another
    notebook or zip, a sub-folder holding code, an entry an LMS preset recognises, or another
    ``.py`` file that defines a function or class the module also defines (next to a lone
    notebook or zip, any ``.py`` file).
    """
    try:
        return _looks_single(folder, module, rule, parse)
    except (OSError, WalkError):
        return False  # an unreadable or unwalkable entry: plan it as a batch, where it is refused


def _looks_single(folder: Path, module: str, rule: str,
                  parse: Callable[[Path], Attempt | None] | None) -> bool:
    entries = [p for p in folder.iterdir() if not _is_litter(p)]
    if rule not in ("stem", "parent"):
        parse = parse or parser_for(rule, folder)
        if any(parse(p) is not None for p in entries):
            return False
    module_files = [p for p in entries if p.is_file() and p.name.lower() == f"{module}.py"]
    packed = [p for p in entries if p.is_file() and p.suffix.lower() in (".ipynb", ".zip")]
    if len(module_files) + len(packed) != 1:
        return False
    defined = _defined_functions(module_files[0]) if module_files else set()
    for other in entries:
        if other in module_files or other in packed:
            continue
        if other.is_dir() and not other.is_symlink() and any(
                f.kind == "file" and _is_code(f.path) for f in walk(other)):
            return False
        if other.is_file() and other.suffix.lower() == ".py" \
                and (not module_files or defined & _defined_functions(other)):
            return False
    return True


# A whole class's LMS download, unpacked as a batch: limits sized for a class, not a student.
DOWNLOAD_MAX_FILES = 50_000
DOWNLOAD_MAX_BYTES = 16 << 30


def unpack_lms_download(archive: Path, dest: Path, rule: str) -> Path | None:
    """An LMS bulk download handed in as the zip it arrives as (Canvas's ``submissions.zip``,
    Moodle's or Blackboard's download, Gradescope's export): unpacked into ``dest``, every
    entry checked as for any zip, and the folder to plan as a batch returned. None (``dest``
    left empty) when ``rule`` is ``stem``/``parent`` or the LMS rule names none of the zip's
    entries: that zip is one student's submission, staged as it is."""
    from grader.intake.staging import IntakeError, extract_zip  # staging imports this module

    if rule in ("stem", "parent") or archive.suffix.lower() != ".zip":
        return None
    try:
        extract_zip(archive, dest, DOWNLOAD_MAX_BYTES, max_files=DOWNLOAD_MAX_FILES)
        root = submission_root(dest)
        parse = parser_for(rule, root)
        if any(parse(p) is not None for p in root.iterdir() if not _is_litter(p)):
            return root
    except (IntakeError, OSError):
        pass  # graded as one submission, whose staging reports what is wrong with it
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(exist_ok=True)
    return None


def plan_batch(target: Path, module: str, rule: str = "stem",
               roster: Roster | None = None) -> BatchPlan:
    """Every entry under ``target`` with its fate; a file or a single submission folder is a
    batch of one. Never raises for a bad entry: it is refused with the reason."""
    target = Path(target)
    if target.is_file():
        return _single(target, module, rule, roster)
    parse = parser_for(rule, target)
    if is_single_submission(target, module, rule, parse):
        return _single(target, module, rule, roster)
    plan = BatchPlan(target, [])
    try:
        found = sorted(p for p in target.iterdir() if not _is_litter(p))
    except OSError as exc:
        plan.warnings.append(f"cannot list {target}: {exc}")
        return plan
    for path in found:
        plan.entries.append(_classify(path, module, parse))
    _attach_identities(plan, roster)
    _choose_latest(plan)
    return plan


def _single(target: Path, module: str, rule: str, roster: Roster | None) -> BatchPlan:
    if rule == "parent" and target.is_file():
        name = target.resolve().parent.name
        attempt = Attempt(name, name)
    else:
        attempt = _stem_attempt(target) if rule in ("stem", "parent") else \
            parser_for(rule, target.parent)(target) or _stem_attempt(target)
    entry = BatchEntry(target, "graded", staged_source(target, module), order=attempt.order,
                       late=attempt.late)
    entry.display_name, entry.lms_id = attempt.display_name, attempt.key
    plan = BatchPlan(target.parent if target.is_file() else target, [entry])
    _attach_identities(plan, roster)
    return plan


def _classify(path: Path, module: str, parse: Callable[[Path], Attempt | None]) -> BatchEntry:
    entry = BatchEntry(path, "refused")
    try:
        if path.is_symlink():
            entry.reason = "a symbolic link; submit plain files"
            return entry
        is_dir = path.is_dir()
        attempt = parse(path)
        if attempt is None:
            entry.reason = _unknown_type(path) if not is_dir and not _is_code(path) else \
                "the name does not match the configured student_id rule"
            return entry
        entry.lms_id, entry.display_name = attempt.key, attempt.display_name
        entry.order, entry.late, entry.members = attempt.order, attempt.late, attempt.members
        if attempt.receipt:
            entry.status = "receipt"
            return entry
        if attempt.refused:
            entry.reason = attempt.refused
            return entry
        if not is_dir and not _is_code(path):
            entry.reason = _unknown_type(path)
            return entry
        mtime = path.stat().st_mtime
        entry.order = (*attempt.order, mtime, path.name)
        entry.source = staged_source(path, module)
        entry.status = "graded"
    except OSError as exc:
        entry.status, entry.reason = "refused", f"unreadable: {exc.strerror or exc}"
    except (ValueError, RecursionError, MemoryError) as exc:  # whatever an entry breaks is its own
        entry.status, entry.reason = "refused", f"unreadable ({type(exc).__name__}: {exc})"[:300]
    return entry


def _unknown_type(path: Path) -> str:
    return f"unknown file type {path.suffix or '(none)'}: expected .py, .ipynb, .zip or a folder"


def _attach_identities(plan: BatchPlan, roster: Roster | None) -> None:
    """Course ids from the roster, then a distinct folder name per student."""
    people = [e for e in plan.entries if e.lms_id]
    for entry in people:
        student = roster.lookup(entry.lms_id) if roster is not None else None
        if student is not None:
            entry.student_id = student.student_id
            entry.display_name = student.name or entry.display_name
            entry.members = tuple(
                (roster.lookup(m) or RosterStudent(m)).student_id for m in entry.members)
        else:
            entry.student_id = entry.lms_id
            if roster is not None and entry.status != "receipt":
                entry.warnings.append(f"{entry.lms_id!r} is not on the roster "
                                      f"{roster.path.name}")
    ids, warnings = assign_ids([e.student_id for e in people])
    plan.warnings += warnings
    for entry in people:
        entry.student_id = ids[entry.student_id]


def _choose_latest(plan: BatchPlan) -> None:
    """One graded entry per student: the latest attempt; the rest are superseded."""
    by_student: dict[str, list[BatchEntry]] = {}
    for entry in plan.graded():
        by_student.setdefault(entry.student_id, []).append(entry)
    for entries in by_student.values():
        entries.sort(key=lambda e: e.order)
        latest = entries[-1]
        for older in entries[:-1]:
            older.status = "superseded"
            # order ends in (mtime, name); what precedes is the LMS's own attempt number
            same = len(latest.order) > 2 and older.order[:-2] == latest.order[:-2]
            older.reason = (f"another file of the same attempt as {latest.path.name}, which "
                            "is graded: one file per attempt, or a zip" if same else
                            f"an older attempt; {latest.path.name} is graded")


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
