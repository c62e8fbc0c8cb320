"""grader.yaml: course defaults and one entry per assignment, validated on load.

Errors name the file, the line and the key path (``grader.yaml:14: assignments.a1_backprop.
points: expected a number > 0, got 'forty'``).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.course.due import course_zone, parse_due
from grader.course.options import OptionError, load_schema
from grader.course.visibility import VISIBILITIES
from grader.intake.identity import IdentityError, Roster, check_rule, load_roster
from grader.sandbox.bwrap import Limits


class ConfigError(ValueError):
    pass


_LIMIT_KEYS = {
    "call_timeout_s": float, "submission_timeout_s": float, "memory_mb": int,
    "max_processes": int, "max_file_mb": int, "max_open_files": int, "tmpfs_mb": int,
}
_DEFAULTS: dict[str, Any] = {
    "sandbox": "bwrap", "device": "auto", "workers": "auto", "data_root": "data",
    "visibility": "visible", "student_id": "stem", "seed": "random", "roster": None,
    "timezone": "UTC",
    **{k: getattr(Limits(), k) for k in _LIMIT_KEYS},
}
_CHOICES = {
    "sandbox": ("bwrap", "none"), "device": ("auto", "cpu", "cuda"),
    "visibility": VISIBILITIES,
}
_ASSIGNMENT_KEYS = {"title", "module", "points", "torch_in_sandbox", "hidden_tests",
                    "public_tests", "solution", "release", "due", "options", "options_schema",
                    *_LIMIT_KEYS, "device", "visibility", "resources"}
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Resources:
    """What one submission of an assignment reserves on a cluster node (backend ray)."""

    cpus: float = 1.0
    memory_mb: int = 0   # 0: the assignment's memory_mb plus the sandbox's own headroom
    gpus: float = 0.0    # used when device is cuda, or auto on a cluster with GPUs


@dataclass(frozen=True)
class BackendConfig:
    """Where `grader grade` runs submissions: ``local`` (warm sandboxes on this machine) or
    ``ray`` (a Ray cluster at ``address``; None: RAY_ADDRESS, else a local Ray)."""

    kind: str = "local"
    address: str | None = None


@dataclass(frozen=True)
class AssignmentConfig:
    name: str
    title: str
    module: str
    points: float
    torch_in_sandbox: bool
    hidden_tests: Path
    public_tests: Path
    solution_dir: Path
    release_dir: Path
    due: dt.datetime | None  # aware; grader.course.due's rule applied in the course zone
    limits: Limits
    device: str
    sandbox: str
    visibility: str
    student_id: str
    seed: str | int
    data_root: Path
    options: dict = field(default_factory=dict)
    roster: Roster | None = None
    options_schema: str | None = None  # "package.module:function" that checks ``options``
    settings: Any = None  # the options as resolved by options_schema
    resources: Resources = field(default_factory=Resources)

    @property
    def module_file(self) -> str:
        return f"{self.module}.py"

    def as_dict(self) -> dict:
        """Plain form for the hidden suite's ``assignment_config`` fixture."""
        return {
            "name": self.name, "title": self.title, "module": self.module,
            "points": self.points, "device": self.device, "data_root": str(self.data_root),
            "options": dict(self.options), "due": self.due.isoformat() if self.due else None,
            **{k: getattr(self.limits, k) for k in _LIMIT_KEYS},
        }


SERVICE_COUNTS = ("last", "best")
SERVICE_LATE = ("accept", "refuse", "on_time_counts")


@dataclass(frozen=True)
class ServiceConfig:
    """``service:`` of grader.yaml: the web service (grader.service). The environment
    variable GRADER_DATABASE_URL beats ``database``; None: SQLite in the course folder."""

    database: str | None = None
    max_attempts: int = 0            # per student and assignment; 0: unlimited
    uploads_per_hour: int = 0        # per student; 0: unlimited
    late_policy: str = "accept"      # accept | refuse | on_time_counts (late graded, not counted)
    counts: str = "last"             # which attempt is the student's grade: last | best


@dataclass(frozen=True)
class CourseConfig:
    path: Path
    course: str
    workers: int
    assignments: dict[str, AssignmentConfig]
    data_root: Path
    timezone: str = "UTC"  # IANA name; due dates without an offset are in this zone
    backend: BackendConfig = field(default_factory=BackendConfig)
    service: ServiceConfig = ServiceConfig()

    @property
    def root(self) -> Path:
        return self.path.parent

    def assignment(self, name: str) -> AssignmentConfig:
        try:
            return self.assignments[name]
        except KeyError:
            known = ", ".join(sorted(self.assignments))
            raise ConfigError(f"{self.path.name}: no assignment {name!r} (known: {known})") \
                from None


class _Reader:
    """Walks the composed YAML node tree so every value keeps its line number."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: yaml.Node | None, key: str, problem: str) -> ConfigError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return ConfigError(f"{self.path.name}{line}: {key}: {problem}")

    def mapping(self, node: yaml.Node, key: str) -> dict[str, tuple[yaml.Node, Any]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, "expected a mapping")
        out: dict[str, tuple[yaml.Node, Any]] = {}
        for knode, vnode in node.value:
            if knode.value in out:
                raise self.error(knode, f"{key}.{knode.value}", "duplicate key")
            where = "" if key == "(top level)" else f"{key}."
            out[knode.value] = (vnode, self.value(vnode, f"{where}{knode.value}"))
        return out

    def value(self, node: yaml.Node, key: str) -> Any:
        """The Python value of ``node``; a scalar YAML recognises but cannot build
        (``due: 2026-13-45`` is a date to YAML) is an error naming its own line and key."""
        try:
            return yaml.safe_load(yaml.serialize(node))
        except (ValueError, yaml.YAMLError) as exc:
            problem = exc
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                self.value(vnode, f"{key}.{knode.value}")
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.value(item, f"{key}[{index}]")
        raise self.error(node, key, f"cannot read {getattr(node, 'value', '')!r}: {problem}")


def _coerce(reader: _Reader, node: yaml.Node, key: str, name: str, value: Any) -> Any:
    if name in _LIMIT_KEYS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if not ok:
            raise reader.error(node, key, f"expected a number > 0, got {value!r}")
        return _LIMIT_KEYS[name](value)
    if name in _CHOICES and value not in _CHOICES[name]:
        raise reader.error(node, key, f"expected one of {', '.join(_CHOICES[name])}, "
                           f"got {value!r}")
    if name == "workers" and value != "auto" and not (type(value) is int and value > 0):
        raise reader.error(node, key, f"expected 'auto' or a positive integer, got {value!r}")
    if name == "student_id":
        try:
            return check_rule(value if isinstance(value, str) else repr(value))
        except IdentityError as exc:
            raise reader.error(node, key, str(exc)) from None
    if name == "roster" and not isinstance(value, str):
        raise reader.error(node, key, f"expected the path of a roster CSV, got {value!r}")
    if name == "timezone":
        try:
            course_zone(str(value))
        except ValueError as exc:
            raise reader.error(node, key, str(exc)) from None
        return str(value)
    if name == "seed" and value != "random" and not (type(value) is int and value >= 0):
        raise reader.error(node, key, f"expected 'random' or an integer >= 0, got {value!r}")
    return value


def load_config(path: str | Path) -> CourseConfig:
    """Read and validate grader.yaml; raises ConfigError naming the key and line."""
    path = Path(path).resolve()
    reader = _Reader(path)
    try:
        data = path.read_bytes()
        root = yaml.compose(data.decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path.name}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                          "save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    top = reader.mapping(root, "(top level)")
    for key in top:
        if key not in ("course", "defaults", "assignments", "backend", "service"):
            raise reader.error(top[key][0], key, "unknown key (expected course, defaults, "
                               "assignments, backend, service)")
    defaults = dict(_DEFAULTS)
    if "defaults" in top:
        for name, (node, value) in reader.mapping(top["defaults"][0], "defaults").items():
            if name not in _DEFAULTS:
                raise reader.error(node, f"defaults.{name}", "unknown key")
            defaults[name] = _coerce(reader, node, f"defaults.{name}", name, value)
    if "assignments" not in top:
        raise reader.error(root, "assignments", "missing")
    entries = reader.mapping(top["assignments"][0], "assignments")
    roster = None
    if defaults["roster"] is not None:
        try:
            roster = load_roster(path.parent / defaults["roster"])
        except IdentityError as exc:
            node = reader.mapping(top["defaults"][0], "defaults")["roster"][0]
            raise reader.error(node, "defaults.roster", str(exc)) from None
    assignments = {name: _assignment(reader, path.parent, name, node, defaults, roster)
                   for name, (node, _) in entries.items()}
    auto = defaults["workers"] == "auto"
    workers = (os.cpu_count() or 1) if auto else defaults["workers"]
    backend = _section(reader, top["backend"][0], "backend", BackendConfig) \
        if "backend" in top else BackendConfig()
    if backend.kind not in BACKENDS:
        raise reader.error(top["backend"][0], "backend.kind",
                           f"expected one of {', '.join(BACKENDS)}, got {backend.kind!r}")
    return CourseConfig(path, str(top.get("course", (None, ""))[1]), workers, assignments,
                        (path.parent / defaults["data_root"]).resolve(), defaults["timezone"],
                        backend,
                        _service(reader, top["service"][0]) if "service" in top else
                        ServiceConfig())


def _section(reader: _Reader, node: yaml.Node, key: str, kind: type) -> Any:
    """A mapping read into the dataclass ``kind``: known keys, values of the defaults' types
    (numbers >= 0; a None default takes a string)."""
    values = {}
    defaults = kind()
    for name, (vnode, value) in reader.mapping(node, key).items():
        if name not in kind.__dataclass_fields__:
            raise reader.error(vnode, f"{key}.{name}", "unknown key (expected one of "
                               f"{', '.join(kind.__dataclass_fields__)})")
        default = getattr(defaults, name)
        if isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise reader.error(vnode, f"{key}.{name}", f"expected a number >= 0, got "
                                   f"{value!r}")
            value = type(default)(value)
        elif value is not None and not isinstance(value, str):
            raise reader.error(vnode, f"{key}.{name}", f"expected a string, got {value!r}")
        values[name] = value
    return kind(**values)


def _service(reader: _Reader, node: yaml.Node) -> ServiceConfig:
    values: dict[str, Any] = {}
    for name, (vnode, value) in reader.mapping(node, "service").items():
        key = f"service.{name}"
        if name not in ServiceConfig.__dataclass_fields__:
            raise reader.error(vnode, key, "unknown key (expected one of "
                               f"{', '.join(ServiceConfig.__dataclass_fields__)})")
        choices = {"counts": SERVICE_COUNTS, "late_policy": SERVICE_LATE}.get(name)
        if choices is not None and value not in choices:
            raise reader.error(vnode, key, f"expected one of {', '.join(choices)}, got {value!r}")
        if name in ("max_attempts", "uploads_per_hour") and not (type(value) is int
                                                                  and value >= 0):
            raise reader.error(vnode, key, f"expected an integer >= 0, got {value!r}")
        if name == "database" and value is not None and not isinstance(value, str):
            raise reader.error(vnode, key, f"expected a database URL, got {value!r}")
        values[name] = value
    return ServiceConfig(**values)


def _assignment(reader: _Reader, root: Path, name: str, node: yaml.Node,
                defaults: dict, roster: Roster | None) -> AssignmentConfig:
    fields = reader.mapping(node, f"assignments.{name}")
    values: dict[str, Any] = {}
    for key, (vnode, value) in fields.items():
        where = f"assignments.{name}.{key}"
        if key not in _ASSIGNMENT_KEYS:
            raise reader.error(vnode, where, f"unknown key (expected one of "
                               f"{', '.join(sorted(_ASSIGNMENT_KEYS))})")
        values[key] = _coerce(reader, vnode, where, key, value)
    for required in ("module", "points"):
        if required not in values:
            raise reader.error(node, f"assignments.{name}.{required}", "missing")
    module = values["module"]
    if not isinstance(module, str) or not module.isidentifier():
        raise reader.error(fields["module"][0], f"assignments.{name}.module",
                           f"expected a Python module name, got {module!r}")
    points = values["points"]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise reader.error(fields["points"][0], f"assignments.{name}.points",
                           f"expected a number > 0, got {points!r}")
    options = values.get("options", {})
    if not isinstance(options, dict):
        raise reader.error(fields["options"][0], f"assignments.{name}.options",
                           "expected a mapping")
    settings = _resolve_options(reader, name, fields, options)
    due = values.get("due")
    if due is not None:
        due = _parse_due(reader, fields["due"][0], f"assignments.{name}.due", due,
                         course_zone(defaults["timezone"]))
    merged = {k: values.get(k, defaults[k]) for k in _LIMIT_KEYS}
    return AssignmentConfig(
        name=name, title=str(values.get("title", name)), module=module, points=float(points),
        torch_in_sandbox=bool(values.get("torch_in_sandbox", False)),
        hidden_tests=root / values.get("hidden_tests", f"autotests/{name}"),
        public_tests=root / values.get("public_tests", f"solutions/{name}/public_tests"),
        solution_dir=root / values.get("solution", f"solutions/{name}"),
        release_dir=root / values.get("release", f"assignments/{name}"),
        due=due, limits=Limits(**merged), device=values.get("device", defaults["device"]),
        sandbox=defaults["sandbox"], visibility=values.get("visibility", defaults["visibility"]),
        student_id=defaults["student_id"], seed=defaults["seed"],
        data_root=(root / defaults["data_root"]).resolve(), options=options, roster=roster,
        options_schema=values.get("options_schema"), settings=settings,
        resources=_section(reader, fields["resources"][0], f"assignments.{name}.resources",
                           Resources) if "resources" in fields else Resources(),
    )


def _parse_due(reader: _Reader, node: yaml.Node, key: str, value: Any,
               zone: dt.tzinfo) -> dt.datetime:
    try:
        return parse_due(value if isinstance(value, (dt.date, dt.datetime)) else str(value),
                         zone)
    except ValueError:
        raise reader.error(node, key, f"expected an ISO date or date-time, got {value!r}") \
            from None


def _resolve_options(reader: _Reader, name: str, fields: dict[str, tuple[yaml.Node, Any]],
                     options: dict) -> Any:
    """The options checked by the assignment's declared schema; errors name the option's line.

    Options without a schema would reach the hidden suite unchecked, so they are refused."""
    where = f"assignments.{name}"
    if "options_schema" not in fields:
        if options:
            raise reader.error(fields["options"][0], f"{where}.options",
                               "no options_schema declared to check these options")
        return None
    schema_node, spec = fields["options_schema"]
    try:
        schema = load_schema(str(spec))
    except ValueError as exc:
        raise reader.error(schema_node, f"{where}.options_schema", str(exc)) from None
    try:
        return schema(options)
    except OptionError as exc:
        node = _option_node(fields["options"][0] if "options" in fields else None, exc.key)
        raise reader.error(node, f"{where}.{exc.key}",
                           str(exc).split(":", 1)[1].strip()) from None


def _option_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The deepest node of ``options.a.b`` present in the file (for its line number)."""
    for part in key.split(".")[1:]:
        if not isinstance(node, yaml.MappingNode):
            break
        child = next(((k, v) for k, v in node.value if k.value == part), None)
        if child is None:
            break
        node = child[1] if isinstance(child[1], yaml.MappingNode) else child[0]
    return node
