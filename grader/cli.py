"""``grader``: the command line. Thin: every subcommand's parser is here; each loads the course
(grader.yaml) once and calls a module with typed objects. Every option is checked before
anything is graded or written (argparse types below), so a bad one never touches results.

Exit status: 0 when grading worked (even if students lost points), 1 when there was nothing to
report (no results, a failed validation), 2 on usage errors (a bad option, an unknown
assignment, a missing or empty path), 3 on grader faults (no sandbox, broken config or suite,
a grading process that died), 130 when interrupted (Ctrl-C). Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import sys
import tempfile
from pathlib import Path

import grader
from grader.course.config import (
    BACKENDS,
    AssignmentConfig,
    BackendConfig,
    ConfigError,
    CourseConfig,
    load_config,
)
from grader.course.due import course_zone, parse_due
from grader.grading.backends import Backend, get_backend
from grader.grading.batch import grade_batch
from grader.grading.options import (
    EXIT_GRADER_FAULT,
    MAX_WORKERS,
    GradeOptions,
    GraderFault,
    choose_sandbox,
    choose_seed,
    resolve_device,
)
from grader.reports.lms_export import FORMATS as LMS_FORMATS
from grader.results.store import AssignmentResults, read_result
from grader.similarity.engine import THRESHOLD as SIMILARITY_THRESHOLD

EXIT_NOTHING = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DESCRIPTION = ("Grade deep-learning assignments in a sandbox: students' modules and notebooks "
               "are run against hidden test suites, and every result says why it scored what "
               "it did.")


class UsageError(Exception):
    """A bad command-line value found after parsing (exit 2)."""


def _config(args: argparse.Namespace) -> CourseConfig:
    return load_config(args.config)


def _assignment(course: CourseConfig, name: str) -> AssignmentConfig:
    """The assignment named on the command line; an unknown name is a usage error."""
    try:
        return course.assignment(name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _names(course: CourseConfig, name: str) -> list[str]:
    """``all`` or one assignment (checked)."""
    return list(course.assignments) if name == "all" else [_assignment(course, name).name]


# argparse types: a bad value is a usage error (exit 2) before anything runs.
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_WORKERS}, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") \
            from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected 0 to {2**32 - 1}, got {value}")
    return value


def _id_rule(text: str) -> str:
    from grader.intake.identity import IdentityError, check_rule

    try:
        return check_rule(text)
    except IdentityError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _options(args: argparse.Namespace, course: CourseConfig, name: str, out: Path,
             backend: Backend | None = None, **extra: object) -> GradeOptions:
    """The run's options; a cluster backend checks the sandbox and device on its nodes."""
    cfg = course.assignment(name)
    remote = backend is not None and backend.name != "local"
    return GradeOptions(
        out=out.resolve(), seed=choose_seed(cfg.seed, getattr(args, "seed", None)),
        sandbox="bwrap" if remote and cfg.sandbox == "bwrap" else
        choose_sandbox(cfg.sandbox, args.insecure), insecure=args.insecure,
        device="cpu" if remote else resolve_device(cfg.device, cfg.torch_in_sandbox),
        workers=getattr(args, "workers", None) or course.workers, **extra)


def _backend(args: argparse.Namespace, course: CourseConfig) -> Backend:
    """grader.yaml's ``backend:``, unless --backend/--address say otherwise."""
    if args.backend is None and args.address is None:
        return get_backend(course)
    kind = args.backend or course.backend.kind
    if args.address is not None and kind != "ray":
        raise UsageError("--address is the Ray cluster's; it needs --backend ray")
    return get_backend(course, BackendConfig(kind, args.address or course.backend.address))


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.intake.identity import unpack_lms_download

    course = _config(args)
    cfg = _assignment(course, args.assignment)
    if args.student_id is not None:
        cfg = dataclasses.replace(cfg, student_id=args.student_id)
    target = Path(args.submissions)
    if not target.exists():
        raise UsageError(f"{target} does not exist")
    if target.is_dir() and all(p.name.startswith(".") for p in target.iterdir()):
        raise UsageError(f"{target} is empty: nothing to grade")
    backend = _backend(args, course)
    opts = _options(args, course, args.assignment, Path(args.out), backend,
                    regrade=args.regrade, only=frozenset(args.only or ()),
                    timeout_s=args.timeout, progress=not args.quiet)
    with tempfile.TemporaryDirectory(prefix="grader-download-") as tmp:
        batch = unpack_lms_download(target, Path(tmp), cfg.student_id) \
            if target.is_file() else None
        if batch is not None:
            print(f"{target.name}: an LMS download ({cfg.student_id}); grading its entries "
                  "as a batch")
        summary = grade_batch(cfg, batch or target, opts, backend=backend)
    if not (summary.graded or summary.skipped or summary.faults):
        print(f"grader grade: nothing gradable in {target}: {summary.refused} entries refused, "
              f"{summary.superseded} superseded, {summary.receipts} receipts (each reason is in "
              f"{opts.out / cfg.name / 'batch_entries.json'})", file=sys.stderr)
        return EXIT_USAGE
    print(f"{cfg.name}: results in {opts.out / cfg.name} (seed {opts.seed}; replay with "
          f"--seed {opts.seed})")
    return EXIT_GRADER_FAULT if summary.faults else 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Solutions must score full marks and stubs zero."""
    from grader.authoring.release import make_stub

    course = _config(args)
    ok = True
    for name in _names(course, args.assignment):
        # The solution and the stub are staged as two plain submissions, whatever LMS naming
        # and roster the course uses for real batches.
        cfg = dataclasses.replace(course.assignment(name), student_id="stem", roster=None)
        solution = cfg.solution_dir / cfg.module_file
        with tempfile.TemporaryDirectory() as tmp:
            subs = Path(tmp) / "subs"
            for who in ("solution", "stub"):
                (subs / who).mkdir(parents=True)
                text = solution.read_text()
                (subs / who / cfg.module_file).write_text(
                    text if who == "solution" else make_stub(text))
            _copy_checkpoints(cfg, subs / "solution")
            opts = _options(args, course, name, Path(tmp) / "out", regrade=True,
                            progress=False)
            summary = grade_batch(cfg, subs, opts)
            scores = {who: read_result(AssignmentResults.of(opts.out, name).student(who).results)
                      .to_dict() for who in ("solution", "stub")}
        sol, stub = scores["solution"], scores["stub"]
        good = sol["score"] == sol["max_score"] and stub["score"] == 0 and not summary.faults
        ok &= good
        print(f"{name}: solution {sol['score']:g}/{sol['max_score']:g}, stub "
              f"{stub['score']:g}/{stub['max_score']:g} -> {'OK' if good else 'FAILED'}")
        if not good:
            for t in sol["tests"]:
                if t["status"] != "passed":
                    print(f"  solution failed {t['test_id']}: {t['output'][:500]}")
            for t in stub["tests"]:
                if t["status"] == "passed":
                    print(f"  stub passed {t['test_id']}")
            if sol["error"]:
                print(f"  solution error: {sol['error'][:1000]}")
    return 0 if ok else 1


def _copy_checkpoints(cfg: AssignmentConfig, dest: Path) -> None:
    """Files a submission brings besides its module: a6's reference checkpoints for the
    configured data set (solutions/<a>/checkpoints/<dataset>/*.pt)."""
    folder = cfg.solution_dir / "checkpoints" / str(cfg.options.get("dataset", ""))
    for found in sorted(folder.glob("*.pt")) if folder.is_dir() else []:
        shutil.copyfile(found, dest / found.name)


def cmd_release(args: argparse.Namespace) -> int:
    from grader.authoring.release import release

    course = _config(args)
    for name in _names(course, args.assignment):
        cfg = course.assignment(name)
        files = release(cfg)
        print(f"{name}: wrote {len(files)} files to {cfg.release_dir}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Public tests on the student's own work, staged and restricted as grading does it
    (grader.grading.check). Works in a released folder alone, without grader.yaml."""
    from grader.grading.check import CheckError, find_target, run_check

    course = _config(args) if Path(args.config).exists() else None
    if course is not None:
        _assignment(course, args.assignment)
    try:
        target = find_target(args.assignment, Path(args.path) if args.path else None, course)
    except CheckError as exc:
        raise UsageError(str(exc)) from None
    return run_check(target)


def cmd_report(args: argparse.Namespace) -> int:
    """Title, due date and roster come from the course; --due and --roster override them."""
    from grader.intake.identity import IdentityError, load_roster
    from grader.reports.command import ReportRequest, write_reports

    course = _config(args)
    cfg = _assignment(course, args.assignment)
    due, roster = cfg.due, cfg.roster
    try:
        if args.due is not None:
            due = parse_due(args.due, course_zone(course.timezone))
        if args.roster is not None:
            roster = load_roster(args.roster)
    except (ValueError, IdentityError, OSError) as exc:
        raise UsageError(str(exc)) from None
    from grader.authoring.release import starter_text

    return write_reports(ReportRequest(
        assignment=cfg.name, title=cfg.title, due=due, roster=roster, results=args.results,
        out=args.out, published=args.published, formats=tuple(args.format),
        template=None if args.no_similarity else starter_text(cfg) or ""))


def cmd_similarity(args: argparse.Namespace) -> int:
    """Ranked pairs of submissions sharing more code than the class does; 1 when none of the
    results kept code to compare."""
    from grader.authoring.release import starter_text
    from grader.similarity.command import run_similarity

    cfg = _assignment(_config(args), args.assignment)
    if not 0.0 < args.threshold <= 1.0:
        raise UsageError("--threshold must be in (0, 1]")
    store = AssignmentResults.of(args.results, cfg.name)
    if not store.folder.is_dir():  # as `grader report` says it: nothing to compare
        print(f"grader similarity: no results of {cfg.name} in {args.results}", file=sys.stderr)
        return EXIT_NOTHING
    run = run_similarity(cfg.name, store, starter_text(cfg) or "", threshold=args.threshold,
                         json_path=args.json)
    for sid, why in run.skipped:
        print(f"skipped {sid}: {why}", file=sys.stderr)
    report = run.report
    print(f"{len(report.students)} submissions, {len(report.pairs)} pairs scored, "
          f"{len(report.flagged)} flagged at {report.threshold:.2f}, "
          f"{len(report.clusters)} clusters -> {run.page}"
          + (f", {args.json}" if args.json else ""))
    return 0 if report.students else 1


def cmd_data(args: argparse.Namespace) -> int:
    """0 when at least one split is present and no file failed its checksum, else 1."""
    from grader.mnist import data

    try:
        name = data.canonical_name(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    root = args.root or _config(args).data_root
    if args.action == "fetch":
        report = data.fetch(name, root, source=args.source, download=args.download)
    else:
        report = data.inspect(name, root)
    print(data.describe(report))
    return 0 if report.present and not report.corrupt else 1


def cmd_export(args: argparse.Namespace) -> int:
    from grader.authoring.gradescope import export_gradescope

    course = _config(args)
    _assignment(course, args.assignment)
    out = args.out or course.root / "build" / "gradescope" / f"{args.assignment}.zip"
    names = export_gradescope(course, args.assignment, out, insecure=args.insecure)
    print(f"wrote {out} ({len(names)} files)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The web service (grader.service); with --import, load CLI results into it and exit."""
    from grader.service.serve import ServeOptions, open_service, serve

    course = _config(args)
    if args.import_dir is not None:
        from grader.service.importer import import_results

        service = open_service(course)
        names = [n for n in course.assignments if (args.import_dir / n).is_dir()]
        if not names:
            raise UsageError(f"no results of this course's assignments in {args.import_dir}")
        for name in names:
            count, problems = import_results(service, args.import_dir, name)
            for problem in problems:
                print(f"skipped {problem}", file=sys.stderr)
            print(f"{name}: imported {count} results into {service.database}")
        return 0
    workers = args.workers if args.workers is not None else max(1, course.workers - 1)
    if workers < 0 or not 0 < args.port < 65536:
        raise UsageError("--workers must be >= 0 and --port in 1..65535")
    return serve(course, ServeOptions(
        host=args.host, port=args.port, workers=workers, web=not args.grading_only,
        insecure=args.insecure, timeout_s=args.timeout, secure_cookies=args.secure_cookies))


def cmd_users(args: argparse.Namespace) -> int:
    """Accounts of the service: from a roster, staff, API tokens, one-time sign-in links."""
    from grader.intake.identity import IdentityError, load_roster
    from grader.service import accounts
    from grader.service.serve import open_service

    service = open_service(_config(args))
    with service.sessions() as db:
        try:
            if args.action == "add" and args.roster is not None:
                made = accounts.add_roster(db, load_roster(args.roster))
                db.commit()
                print("student_id,initial_password")
                for account in made:
                    print(f"{account.login},{account.password}")
                print(f"{len(made)} accounts added (hand each student their password, or a "
                      "sign-in link: grader users link ID)", file=sys.stderr)
            elif args.action == "add":
                if not args.login:
                    raise UsageError("give --roster FILE, or a LOGIN with --role ta|instructor")
                made_one = accounts.add_user(db, args.login, args.role, args.name or "",
                                             args.password)
                db.commit()
                print(f"{made_one.login},{made_one.password}")
            elif not args.login:
                raise UsageError(f"grader users {args.action} needs the account's LOGIN")
            elif args.action == "token":
                token = accounts.new_api_token(db, accounts.find_user(db, args.login))
                db.commit()
                print(token)
            else:
                secret = accounts.new_sign_in_link(db, accounts.find_user(db, args.login))
                db.commit()
                print(f"{args.base_url.rstrip('/')}/signin/{secret}")
        except (accounts.AccountError, IdentityError) as exc:
            raise UsageError(str(exc)) from None
    return 0


def add_serve_parser(command) -> None:
    p = command("serve", cmd_serve, "the course's web service: students upload and read "
                "their feedback, staff see the live report (docs/API.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1; put a TLS reverse proxy in front for anything else)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, help="grading processes on this machine "
                   "(default: workers of grader.yaml minus one, at least 1)")
    p.add_argument("--grading-only", action="store_true",
                   help="only grading processes (another machine serves the pages)")
    p.add_argument("--timeout", type=float, help="wall-clock budget per submission (s)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark cookies Secure even when the proxy does not say https")
    p.add_argument("--insecure", action="store_true",
                   help="grade without bubblewrap (results are marked INSECURE)")
    p.add_argument("--import", dest="import_dir", type=Path, metavar="DIR",
                   help="import the results folder of `grader grade --out DIR` and exit")


def add_users_parser(command) -> None:
    p = command("users", cmd_users, "accounts of the web service")
    p.add_argument("action", choices=("add", "token", "link"),
                   help="add: accounts from --roster FILE (prints initial passwords), or one "
                   "staff LOGIN with --role; token: print a new API token for LOGIN; link: "
                   "print a one-time sign-in link for LOGIN")
    p.add_argument("login", nargs="?", help="student id or staff account")
    p.add_argument("--roster", type=Path, help="roster CSV (student_id, name, email, ...)")
    p.add_argument("--role", choices=("student", "ta", "instructor"), default="student")
    p.add_argument("--name", help="display name of a single account")
    p.add_argument("--password", help="initial password of a single account (default: a "
                   "random one, printed)")
    p.add_argument("--base-url", default="http://127.0.0.1:8000",
                   help="where students reach the service (for links)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"grader {grader.__version__}")
    parser.add_argument("--config", type=Path, default=Path("grader.yaml"),
                        help="course config (default: grader.yaml)")
    # Also accepted after the subcommand (`grader report a2 --config x.yaml`).
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="course config (default: grader.yaml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text, parents=[course])
        p.set_defaults(func=func)
        return p

    p = command("grade", cmd_grade, "grade one submission or a folder of them")
    p.add_argument("assignment")
    p.add_argument("submissions", help=".py, .ipynb, .zip, a submission folder or a batch")
    p.add_argument("--out", default="out", help="results folder (default: out)")
    p.add_argument("--workers", type=_positive_int,
                   help="parallel submissions (default: grader.yaml)")
    p.add_argument("--seed", type=_seed, help="replay a run with its recorded seed")
    p.add_argument("--timeout", type=_positive_seconds,
                   help="wall-clock budget per submission (s, > 0)")
    p.add_argument("--student-id", type=_id_rule, metavar="RULE",
                   help="how entries name students, for this run (stem, parent, canvas, moodle, "
                   "blackboard, gradescope or regex:...; default: student_id of grader.yaml)")
    p.add_argument("--only", nargs="+", metavar="ID", help="grade only these student ids")
    p.add_argument("--regrade", action="store_true", help="grade even up-to-date results")
    p.add_argument("--insecure", action="store_true",
                   help="allow grading without bubblewrap (results are marked INSECURE)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument("--backend", choices=BACKENDS, help="local: warm sandboxes on this machine; "
                   "ray: a Ray cluster (docs/SCALING.md) (default: grader.yaml's backend)")
    p.add_argument("--address", metavar="HOST:PORT", help="the Ray cluster's head "
                   "(default: grader.yaml's backend.address, else RAY_ADDRESS or a local Ray)")

    p = command("validate", cmd_validate, "solutions score full marks, stubs score zero")
    p.add_argument("assignment", help="an assignment or 'all'")
    p.add_argument("--seed", type=_seed)
    p.add_argument("--workers", type=_positive_int)
    p.add_argument("--insecure", action="store_true")

    p = command("release", cmd_release, "build assignments/<a>/ from solutions/<a>/")
    p.add_argument("assignment", help="an assignment or 'all'")

    p = command("check", cmd_check, "run the public tests on your own work")
    p.add_argument("assignment")
    p.add_argument("path", nargs="?", help="your notebook, or the folder with your module "
                   "and tests/ (default: the release folder, or here without grader.yaml)")

    p = command("report", cmd_report, "gradebook.csv and report.html for an assignment, and "
                "feedback.md/.html next to every student's results.json")
    p.add_argument("assignment", help="assignment name, e.g. a2_softmax")
    p.add_argument("--results", required=True, type=Path,
                   help="the --out folder of `grader grade` (holds <assignment>/<student>/)")
    p.add_argument("--out", type=Path, help="where gradebook.csv and report.html go "
                   "(default: the results' assignment folder)")
    p.add_argument("--due", help="override the course's due date (ISO 8601; same rule as "
                   "grader.yaml: a date alone is the end of that day in the course zone)")
    p.add_argument("--published", action="store_true",
                   help="grades are published: feedback also shows after_published tests")
    p.add_argument("--roster", type=Path, help="roster CSV (default: defaults.roster of the "
                   "course): every student gets a gradebook row, missing ones 'missing'")
    p.add_argument("--format", choices=LMS_FORMATS, action="append", default=[],
                   help="also write <format>_grades.csv for the LMS's grade import "
                   "(repeatable)")
    p.add_argument("--no-similarity", action="store_true",
                   help="skip the code-similarity section and similarity.html")

    p = command("similarity", cmd_similarity, "rank pairs of submissions by shared code "
                "beyond what the class shares; writes similarity.html beside the results "
                "(evidence for a person to review, never a verdict)")
    p.add_argument("assignment", help="assignment name, e.g. a4_regularization")
    p.add_argument("--results", required=True, type=Path,
                   help="the --out folder of `grader grade` (holds <assignment>/<student>/)")
    p.add_argument("--json", type=Path, help='also write the ranked pairs as [{"a", "b", '
                   '"score"}, ...], highest first')
    p.add_argument("--threshold", type=float, default=SIMILARITY_THRESHOLD,
                   help=f"flag pairs at or above this score (default {SIMILARITY_THRESHOLD})")

    p = command("data", cmd_data, "provision MNIST / Fashion-MNIST in torchvision's layout, "
                "every file checked against torchvision's MD5")
    p.add_argument("action", choices=("fetch", "status"),
                   help="fetch: copy or download into the data root; status: report what the "
                   "data root holds (changes nothing)")
    p.add_argument("name", help="data set: mnist or fashion_mnist")
    p.add_argument("--root", type=Path, help="data root (default: data_root of the course)")
    p.add_argument("--from", dest="source", type=Path, help="fetch: directory holding the "
                   "IDX .gz files (e.g. a distribution package's folder)")
    p.add_argument("--download", action="store_true",
                   help="fetch: let torchvision download what is still missing")

    p = command("export-gradescope", cmd_export, "build a Gradescope autograder zip "
                "(setup.sh, run_autograder, the grader package and the assignment's hidden "
                "suite; never solutions/ or tests/)")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path,
                   help="zip to write (default: build/gradescope/<a>.zip beside grader.yaml)")
    p.add_argument("--insecure", action="store_true",
                   help="grade without bubblewrap on Gradescope (results say INSECURE)")
    add_serve_parser(command)
    add_users_parser(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; every error becomes one line on stderr and an exit status."""
    from grader.authoring.gradescope import ExportError
    from grader.authoring.release import ReleaseError

    args = build_parser().parse_args(argv)  # usage errors: argparse exits 2
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"grader {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, GraderFault, ReleaseError, ExportError, OSError) as exc:
        print(f"grader {args.command}: {exc}", file=sys.stderr)
        return EXIT_GRADER_FAULT
    except KeyboardInterrupt:
        print(f"grader {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
