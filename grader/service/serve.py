"""Starting the service: open the database (migrations run), queue again the jobs whose
grading process died, start the grading processes and the web server, stop them together."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from grader.course.config import CourseConfig
from grader.grading.options import choose_sandbox
from grader.service import accounts, queue
from grader.service.database import ServicePaths, database_url, describe, open_database
from grader.service.logs import setup_logging
from grader.service.submissions import Service

log = logging.getLogger("grader.service")
HOUSEKEEPING_EVERY_S = 600.0


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1          # grading processes on this machine
    web: bool = True          # False: grading processes only (another machine serves pages)
    insecure: bool = False
    timeout_s: float | None = None
    secure_cookies: bool = False  # also set when requests arrive over https


def open_service(course: CourseConfig, secure_cookies: bool = False) -> Service:
    paths = ServicePaths.of(course)
    paths.root.mkdir(parents=True, exist_ok=True)
    url = database_url(course, paths)
    return Service(course, paths, open_database(url), describe(url), secure_cookies)


def start_workers(course: CourseConfig, opts: ServeOptions,
                  only: int | None = None) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "grader.service.worker", "--config", str(course.path),
               "--with-parent"]
    if opts.insecure:
        command.append("--insecure")
    if opts.timeout_s:
        command += ["--timeout", str(opts.timeout_s)]
    slots = range(opts.workers) if only is None else [only]
    return [subprocess.Popen([*command, "--slot", str(slot)]) for slot in slots]


def housekeeping(service: Service) -> None:
    """Expired sessions, sign-in links and old sign-in failures out of the database."""
    try:
        with service.sessions() as db:
            removed = accounts.remove_expired(db)
    except SQLAlchemyError as exc:  # the database is away: next time
        log.error("housekeeping failed: %s", exc)
        return
    if any(vars(removed).values()):
        log.info("removed %d expired sessions, %d old sign-in failures, %d expired sign-in "
                 "links", removed.sessions, removed.login_failures, removed.sign_in_links)


def supervise(course: CourseConfig, opts: ServeOptions, workers: list[subprocess.Popen],
              stop: threading.Event, service: Service) -> None:
    """Start again a grading process that died (its job is queued again by its lease), and
    keep the account tables small."""
    cleaned = time.monotonic()
    while not stop.wait(2.0):
        if time.monotonic() - cleaned > HOUSEKEEPING_EVERY_S:
            housekeeping(service)
            cleaned = time.monotonic()
        for slot, proc in enumerate(workers):
            if proc.poll() is not None:
                log.error("grading process %d exited with %s; starting it again", slot,
                          proc.returncode)
                workers[slot] = start_workers(course, opts, slot)[0]


def serve(course: CourseConfig, opts: ServeOptions) -> int:
    import uvicorn

    from grader.service.app import create_app

    # No sandbox and no --insecure: say so now, not in every worker (a cluster's nodes check
    # their own).
    if opts.workers and course.backend.kind == "local":
        choose_sandbox(next((a.sandbox for a in course.assignments.values()), "bwrap"),
                       opts.insecure)
    setup_logging()
    service = open_service(course, opts.secure_cookies)
    with service.sessions() as db:
        stale = queue.requeue_stale(db)
    housekeeping(service)
    where = f"http://{opts.host}:{opts.port}" if opts.web else "no web server (grading only)"
    on = "" if course.backend.kind == "local" else \
        f" on {course.backend.kind} {course.backend.address or '(RAY_ADDRESS or a local Ray)'}"
    print(f"grader serve: {where}; database {service.database}; {opts.workers} grading "
          f"process(es){on}; data in {service.paths.root}"
          + (f"; {stale} interrupted job(s) queued again" if stale else ""), flush=True)
    workers = start_workers(course, opts)
    stop = threading.Event()
    threading.Thread(target=supervise, args=(course, opts, workers, stop, service),
                     daemon=True).start()
    try:
        if opts.web:
            # Behind a TLS reverse proxy: X-Forwarded-Proto makes the scheme https, and the
            # cookies Secure (FORWARDED_ALLOW_IPS names the proxy, default loopback only).
            uvicorn.run(create_app(service), host=opts.host, port=opts.port, log_config=None,
                        proxy_headers=True,
                        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))
        else:
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0

