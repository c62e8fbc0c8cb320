"""Warm workers: students who follow each other in one zygote share nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader.grading.proxy import Session, StudentModule, WorkerCrashed
from grader.sandbox.bwrap import Limits, SandboxSpec
from grader.sandbox.isolation import ZYGOTE_CAPS
from grader.sandbox.zygote import Zygote, ZygoteWorker
from tests.test_sandbox import PROBE

pytestmark = pytest.mark.sandbox

EXTRA = '''
import os, signal, subprocess, time

def leave_traces():
    with open("/tmp/answers.txt", "w") as fh:
        fh.write("stash for the next student")
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
    return os.getpid()

def look_for_traces():
    uid = os.getuid()
    mine = [p for p in os.listdir("/proc") if p.isdigit()
            and os.stat(f"/proc/{p}").st_uid == uid and int(p) != os.getpid()]
    return os.path.exists("/tmp/answers.txt"), mine

def namespace(kind):
    return os.readlink(f"/proc/self/ns/{kind}")

def tmp_limits():
    st = os.statvfs("/tmp")
    return st.f_blocks * st.f_frsize, st.f_files

def quit_with(code):
    os._exit(code)

def attack_zygote():
    outcomes = []
    for pid in (1, 2):
        try:
            os.kill(pid, signal.SIGKILL)
            outcomes.append("killed")
        except OSError as exc:
            outcomes.append(type(exc).__name__)
    return outcomes
'''


@pytest.fixture
def zygote(tmp_path: Path) -> Zygote:
    inbox = tmp_path / "inbox"
    inbox.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    spec = SandboxSpec("bwrap", inbox, Limits(call_timeout_s=10, max_processes=16),
                       uid=60123)
    zygote = Zygote(spec, inbox, tmp_path / "zygote.log")
    yield zygote
    zygote.close()


def student(zygote: Zygote, name: str) -> tuple[Session, StudentModule]:
    folder = zygote.inbox / name
    folder.mkdir(mode=0o755)
    (folder / "probe.py").write_text(PROBE + EXTRA)
    os.chmod(folder / "probe.py", 0o644)
    spec = SandboxSpec("bwrap", folder, zygote.spec.limits, uid=zygote.spec.uid)
    session = Session(spec, "probe", zygote)
    session.start()
    return session, StudentModule(session)


def test_a_warm_worker_is_unprivileged_and_sandboxed(zygote: Zygote) -> None:
    session, probe = student(zygote, "alice")
    uid, _, caps, _ = probe.identity()
    assert uid == 60123 and int(caps, 16) == 0
    assert probe.import_torch() == "ImportError"
    assert probe.connect("1.1.1.1", 53) != "connected"
    session.close()


def test_a_student_cannot_signal_the_zygote(zygote: Zygote) -> None:
    session, probe = student(zygote, "mallory")
    assert probe.attack_zygote() == ["PermissionError", "PermissionError"]
    session.close()
    assert zygote.proc.poll() is None


def test_files_and_processes_do_not_survive_into_the_next_students_worker(
        zygote: Zygote) -> None:
    first, probe = student(zygote, "alice")
    probe.leave_traces()
    assert probe.look_for_traces()[0] is True
    first.close()
    second, probe = student(zygote, "bob")
    stash_visible, leftover_processes = probe.look_for_traces()
    assert stash_visible is False and leftover_processes == []
    second.close()


def _descendants(pid: int) -> list[int]:
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += [int(child), *_descendants(int(child))]
    return found


def test_the_zygote_holds_only_the_capabilities_it_uses(zygote: Zygote) -> None:
    main = [pid for pid in _descendants(zygote.proc.pid)  # the Python under bwrap's processes
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(sys.executable.encode())]
    status = dict(line.split(":\t") for line in
                  Path(f"/proc/{main[0]}/status").read_text().splitlines() if ":\t" in line)
    expected = sum(1 << cap for cap in ZYGOTE_CAPS)
    for field in ("CapPrm", "CapEff", "CapBnd"):
        assert int(status[field], 16) == expected, field
    assert int(status["CapInh"], 16) == 0 and int(status["CapAmb"], 16) == 0


def test_a_workers_ipc_namespace_and_tmp_are_its_own(zygote: Zygote) -> None:
    first, probe = student(zygote, "alice")
    second, other = student(zygote, "bob")  # two live workers of one zygote
    assert probe.namespace("ipc") != other.namespace("ipc")
    assert probe.namespace("mnt") != other.namespace("mnt")
    assert probe.tmp_limits() == (256 << 20, 4096)
    first.close()
    second.close()


def test_a_warm_worker_that_exits_is_reported_with_its_exit_status(zygote: Zygote) -> None:
    session, probe = student(zygote, "alice")
    with pytest.raises(WorkerCrashed, match="exit status 7"):
        probe.quit_with(7)
    session.close()


def test_a_grading_child_forked_from_the_batch_gets_warm_workers(zygote: Zygote) -> None:
    pid = os.fork()
    if pid == 0:  # like a batch's grading child: it shares the zygote but is not its parent
        try:
            session, _ = student(zygote, "alice")
            warm = isinstance(session.proc, ZygoteWorker)
            session.close()
        finally:
            os._exit(0 if warm else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child started a cold worker"
