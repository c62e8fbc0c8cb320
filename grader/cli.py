"""``grader``: the command line. Thin: every subcommand's parser is here; each loads the course
(grader.yaml) once and calls a module with typed objects.

Exit status: 0 when grading worked (even if students lost points), 2 on usage errors,
3 on grader faults (no sandbox, broken config or suite, a grading process that died),
130 when interrupted (Ctrl-C). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from grader.course.config import AssignmentConfig, ConfigError, CourseConfig, load_config
from grader.course.due import course_zone, parse_due
from grader.grading.batch import grade_batch
from grader.grading.options import (
    EXIT_GRADER_FAULT,
    GradeOptions,
    GraderFault,
    choose_sandbox,
    choose_seed,
    resolve_device,
)
from grader.reports.lms_export import FORMATS as LMS_FORMATS
from grader.results.store import AssignmentResults, read_result
from grader.similarity.engine import THRESHOLD as SIMILARITY_THRESHOLD

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad command-line value found after parsing (exit 2)."""


def _config(args: argparse.Namespace) -> CourseConfig:
    return load_config(args.config)


def _options(args: argparse.Namespace, course: CourseConfig, name: str, out: Path,
             **extra: object) -> GradeOptions:
    cfg = course.assignment(name)
    return GradeOptions(
        out=out.resolve(), seed=choose_seed(cfg.seed, getattr(args, "seed", None)),
        sandbox=choose_sandbox(cfg.sandbox, args.insecure), insecure=args.insecure,
        device=resolve_device(cfg.device, cfg.torch_in_sandbox),
        workers=getattr(args, "workers", None) or course.workers, **extra)


def cmd_grade(args: argparse.Namespace) -> int:
    course = _config(args)
    cfg = course.assignment(args.assignment)
    target = Path(args.submissions)
    if not target.exists():
        raise GraderFault(f"{target} does not exist")
    opts = _options(args, course, args.assignment, Path(args.out), regrade=args.regrade,
                    only=frozenset(args.only or ()), timeout_s=args.timeout,
                    progress=not args.quiet)
    summary = grade_batch(cfg, target, opts)
    print(f"{cfg.name}: results in {opts.out / cfg.name} (seed {opts.seed}; replay with "
          f"--seed {opts.seed})")
    return EXIT_GRADER_FAULT if summary.faults else 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Solutions must score full marks and stubs zero."""
    from grader.authoring.release import make_stub

    course = _config(args)
    names = list(course.assignments) if args.assignment == "all" else [args.assignment]
    ok = True
    for name in names:
        cfg = course.assignment(name)
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
    names = list(course.assignments) if args.assignment == "all" else [args.assignment]
    for name in names:
        cfg = course.assignment(name)
        files = release(cfg)
        print(f"{name}: wrote {len(files)} files to {cfg.release_dir}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Public tests on the student's own work: a folder with their module and tests/, or a
    notebook (tested as the grader reads it). Their code, their machine: no sandbox. Works in
    a released assignment folder alone, without the course repository's grader.yaml."""
    import pytest

    from grader.intake.notebook import NotebookError, convert, sandbox_packages

    try:
        cfg: AssignmentConfig | None = _config(args).assignment(args.assignment)
    except ConfigError:
        cfg = None  # a student's copy of the release: everything is in the folder
    given = Path(args.path) if args.path else None
    notebook = given if given is not None and given.suffix == ".ipynb" else None
    if notebook is not None:
        folder = notebook.parent
    else:
        folder = given or (cfg.release_dir if cfg is not None else Path.cwd())
    if not (folder / "tests").is_dir() and cfg is not None:
        folder = cfg.release_dir  # a notebook saved elsewhere: the released tests
    folder = folder.resolve()
    module = cfg.module if cfg is not None else _module_of(folder, notebook)
    if module is None or not (folder / "tests").is_dir():
        print(f"expected your module (or notebook) and tests/ in {folder}", file=sys.stderr)
        return 2
    run_args = ["-q", "-p", "no:cacheprovider"]
    if notebook is None:
        if not (folder / f"{module}.py").is_file():
            print(f"expected {module}.py and tests/ in {folder}", file=sys.stderr)
            return 2
        return int(pytest.main([str(folder / "tests"), *run_args, "--rootdir", str(folder)]))
    try:
        derived = convert(notebook.read_bytes(), notebook.name,
                          packages=sandbox_packages(cfg is None or cfg.torch_in_sandbox))
    except (OSError, NotebookError) as exc:
        print(f"{notebook}: {exc}", file=sys.stderr)
        return 2
    for warning in derived.warnings:
        print(f"{notebook.name}: {warning}")
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        # The folder's other files (tests, checkpoints) with the module the grader would build.
        work = Path(tmp) / "work"
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(
            "*.ipynb", ".ipynb_checkpoints", "__pycache__"))
        (work / f"{module}.py").write_text(derived.code)
        print(f"testing {module}.py as the grader builds it from {notebook.name} "
              "(its '# cell N' comments name the notebook cells)")
        return int(pytest.main([str(work / "tests"), *run_args, "--rootdir", str(work)]))


def _module_of(folder: Path, notebook: Path | None) -> str | None:
    """The module name of a released assignment: the notebook's ``grader`` metadata, else
    the folder's only .py file."""
    for candidate in [*([notebook] if notebook else []), *sorted(folder.glob("*.ipynb"))]:
        try:
            meta = json.loads(candidate.read_text())["metadata"]["grader"]
            return str(meta["module"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    modules = [p.stem for p in folder.glob("*.py")]
    return modules[0] if len(modules) == 1 else None


def cmd_report(args: argparse.Namespace) -> int:
    """Title, due date and roster come from the course; --due and --roster override them."""
    from grader.intake.identity import IdentityError, load_roster
    from grader.reports.command import ReportRequest, write_reports

    course = _config(args)
    cfg = course.assignment(args.assignment)
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

    cfg = _config(args).assignment(args.assignment)
    store = AssignmentResults.of(args.results, cfg.name)
    if not store.folder.is_dir():
        raise UsageError(f"no results of {cfg.name} in {args.results}")
    if not 0.0 < args.threshold <= 1.0:
        raise UsageError("--threshold must be in (0, 1]")
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
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.splitlines()[0])
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
    p.add_argument("--workers", type=int, help="parallel submissions (default: grader.yaml)")
    p.add_argument("--seed", type=int, help="replay a run with its recorded seed")
    p.add_argument("--timeout", type=float, help="wall-clock budget per submission (s)")
    p.add_argument("--only", nargs="+", metavar="ID", help="grade only these student ids")
    p.add_argument("--regrade", action="store_true", help="grade even up-to-date results")
    p.add_argument("--insecure", action="store_true",
                   help="allow grading without bubblewrap (results are marked INSECURE)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = command("validate", cmd_validate, "solutions score full marks, stubs score zero")
    p.add_argument("assignment", help="an assignment or 'all'")
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int)
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
