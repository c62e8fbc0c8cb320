"""Attacks on the sandbox layer (docs/SECURITY.md, attack classes 2, 3 and 7), each a real
submission graded through the real pipeline.

One batch, one slot (workers=1), so every student runs in the same zygote after the ones
before them in name order: the attackers first, then ``zz_next_student``, an honest solution
that prints what it can see of them. Memory limits are small (memory_mb=512) and the hogs go
well beyond, so a hog that is not stopped shows in its own printed progress.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.course.config import load_config
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions, GraderFault, sandbox_uid
from grader.sandbox.cgroups import BatchCgroups
from tests.conftest import grade_folder, solution_text, stub_text, write_config
from tests.test_sandbox import survivors

pytestmark = [pytest.mark.sandbox, pytest.mark.attacks]

MEMORY_MB = 512
HOG_MB = 1536
SHM_KEY = 0x5EC2E7

LIBC = '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
libc.shmdt.argtypes = (ctypes.c_void_p,)

def say(*parts):
    print(*parts, flush=True)
'''

ATTACKS = {
    # class 2: memory outside RLIMIT_AS, host disk, kernel memory
    # one memfd per chunk: each stays under RLIMIT_FSIZE, none is mapped
    "memfd_hog": f'''
fds, chunk = [], b"x" * (32 << 20)
for held in range(32, {HOG_MB} + 1, 32):
    fds.append(os.memfd_create("hog"))
    os.write(fds[-1], chunk)
    say("held", held, "MB")
''',
    "sysv_shm_hog": f'''
for held in range(32, {HOG_MB} + 1, 32):
    seg = libc.shmget(0, 32 << 20, 0o1000 | 0o600)
    if seg < 0:
        say("shmget failed", os.strerror(ctypes.get_errno()))
        break
    addr = libc.shmat(seg, None, 0)
    ctypes.memset(addr, 1, 32 << 20)
    libc.shmdt(addr)  # detached: the pages stay, outside the address space
    say("held", held, "MB")
''',
    "userns_tmpfs_hog": '''
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
    say("unshare refused:", os.strerror(ctypes.get_errno()))
else:
    say("unshare worked")
''',
    "fallocate_stdout": '''
for what, call in (("fallocate", lambda: os.posix_fallocate(1, 0, 4 << 30)),
                   ("ftruncate", lambda: os.ftruncate(1, 4 << 30))):
    try:
        call()
        say(what, "worked", os.fstat(1).st_size)
    except OSError as exc:
        say(what, "refused:", exc.strerror)
''',
    "tmp_inode_flood": '''
made = 0
try:
    for made in range(200_000):
        open(f"/tmp/f{made}", "w").close()
except OSError as exc:
    say("flood stopped by", exc.strerror)
say("files made", made)
''',
    # class 3: state for the next student
    "leave_state": f'''
seg = libc.shmget({SHM_KEY}, 4096, 0o1000 | 0o666)
if seg >= 0:
    addr = libc.shmat(seg, None, 0)
    ctypes.memmove(addr, b"answers for the next student", 28)
    say("shm segment left")
key = libc.syscall(248, b"user", b"dlgrader-stash", b"answers", 7, -4)  # add_key
say("add_key", "worked" if key >= 0 else "refused: " + os.strerror(ctypes.get_errno()))
with open("/tmp/stash.txt", "w") as fh:
    fh.write("answers")
if os.fork() == 0:
    import time
    time.sleep(600)
    os._exit(0)
''',
    # class 7: what a worker holds
    "show_capabilities": '''
for line in open("/proc/self/status"):
    if line.startswith(("Cap", "NoNewPrivs", "Seccomp:")):
        say(line.strip().replace("\\t", " "))
''',
}

# A Python or virtualenv that lives under /tmp (a CI checkout there) is mounted inside the
# worker's /tmp: that mount point is the grader's, not a student's leftover.
OBSERVER = f'''
import ctypes as _ctypes, os as _os, sys as _sys
_libc = _ctypes.CDLL(None, use_errno=True)
_ours = {{p.split("/")[2] for p in (_sys.prefix, _sys.base_prefix) if p.startswith("/tmp/")}}
print("seen shm:", _libc.shmget({SHM_KEY}, 0, 0) >= 0)
print("seen tmp:", sorted(set(_os.listdir("/tmp")) - _ours))
print("seen keys:", "dlgrader" in open("/proc/keys").read())
print("seen processes:", [p for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()
                          and _os.stat(f"/proc/{{p}}").st_uid == _os.getuid()])
'''


def _attack_source(name: str) -> str:
    stub = stub_text("a1_backprop")
    head, _, rest = stub.partition("\nimport numpy as np\n")
    return f"{head}\nimport numpy as np\n{LIBC}\n{ATTACKS[name]}\n{rest}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], float]:
    tmp = tmp_path_factory.mktemp("attacks")
    batch = tmp / "batch"
    batch.mkdir()
    for name in ATTACKS:
        (batch / f"{name}.py").write_text(_attack_source(name))
    (batch / "zz_next_student.py").write_text(solution_text("a1_backprop") + OBSERVER)
    t0 = time.monotonic()
    results = grade_folder(tmp, "a1_backprop", batch, workers=1, call_timeout_s=5,
                           submission_timeout_s=60, memory_mb=MEMORY_MB)
    return results, time.monotonic() - t0


def printed(result: dict) -> str:
    return result["output"]


def held_mb(result: dict) -> int:
    return max((int(n) for n in re.findall(r"held (\d+) MB", printed(result))), default=0)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_attack_earns_no_more_than_the_stub(graded: tuple[dict, float], name: str) -> None:
    assert graded[0][name]["score"] == 0


@pytest.mark.parametrize("name", ["memfd_hog", "sysv_shm_hog"])
def test_memory_outside_the_address_space_is_bounded_by_the_slot_cgroup(
        graded: tuple[dict, float], name: str) -> None:
    result = graded[0][name]
    # The hog is killed (or refused) well before its target; what it held stays within the
    # student's memory_mb plus the zygote's baseline (numpy: well under 256 MB).
    assert 0 < held_mb(result) < MEMORY_MB + 256, printed(result)
    assert result["status"] == "submission_error"


def test_a_user_namespace_for_a_private_tmpfs_is_refused(graded: tuple[dict, float]) -> None:
    assert "unshare refused: Operation not permitted" in printed(graded[0]["userns_tmpfs_hog"])


def test_stdout_is_a_pipe_no_host_disk_can_be_reserved_through_it(
        graded: tuple[dict, float]) -> None:
    out = printed(graded[0]["fallocate_stdout"])
    assert "fallocate refused: Illegal seek" in out
    assert "ftruncate refused: Invalid argument" in out


def test_a_tmp_inode_flood_stops_at_the_per_worker_inode_limit(
        graded: tuple[dict, float]) -> None:
    out = printed(graded[0]["tmp_inode_flood"])
    made = int(re.search(r"files made (\d+)", out).group(1))
    assert "flood stopped by No space left on device" in out and made < 5000


def test_kernel_keys_are_refused(graded: tuple[dict, float]) -> None:
    assert "add_key refused: Operation not permitted" in printed(graded[0]["leave_state"])


def test_the_next_student_in_the_slot_sees_nothing_of_the_attackers(
        graded: tuple[dict, float]) -> None:
    result = graded[0]["zz_next_student"]
    out = printed(result)
    assert "seen shm: False" in out and "seen tmp: []" in out
    assert "seen keys: False" in out and "seen processes: []" in out
    assert result["score"] == result["max_score"]


def test_no_process_or_kernel_key_of_the_sandbox_uid_survives_the_batch(
        graded: tuple[dict, float]) -> None:
    uid = sandbox_uid(os.getpid(), 0)
    assert survivors(str(uid)) == []
    key_users = Path("/proc/key-users").read_text()
    assert not re.search(rf"^\s*{uid}:", key_users, re.MULTILINE)


def test_the_batch_completes_in_bounded_time(graded: tuple[dict, float]) -> None:
    assert graded[1] < 300


def test_results_record_the_isolation_that_held_the_worker(graded: tuple[dict, float]) -> None:
    isolation = graded[0]["zz_next_student"]["isolation"]
    assert isolation["cgroup"] in ("v1", "v2")
    assert isolation["seccomp"] is True and isolation["private_ipc_and_tmp"] is True


def _status_fields(result: dict) -> dict[str, str]:
    fields = re.findall(r"^(Cap\w+|NoNewPrivs|Seccomp): (\S+)$", printed(result), re.MULTILINE)
    return dict(fields)


def test_a_warm_worker_holds_no_capability_and_runs_under_seccomp(
        graded: tuple[dict, float]) -> None:
    fields = _status_fields(graded[0]["show_capabilities"])
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap], 16) == 0, (cap, fields)
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2"


def test_a_cold_worker_holds_no_capability_and_runs_under_seccomp(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "show_capabilities.py").write_text(_attack_source("show_capabilities"))
    cfg = load_config(write_config(tmp_path, "a1_backprop", submission_timeout_s=60)) \
        .assignment("a1_backprop")
    opts = GradeOptions(out=tmp_path / "out", seed=1, sandbox="bwrap", insecure=False,
                        device="cpu", workers=1, regrade=True, progress=False, warm=False)
    grade_batch(cfg, batch, opts)
    result = (tmp_path / "out" / "a1_backprop" / "show_capabilities" / "results.json")
    fields = _status_fields(json.loads(result.read_text()))
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[cap], 16) == 0, (cap, fields)
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2"


def test_a_host_without_cgroups_is_a_grader_fault_unless_insecure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BatchCgroups, "create", classmethod(lambda cls: None))
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "s.py").write_text(stub_text("a1_backprop"))
    cfg = load_config(write_config(tmp_path, "a1_backprop")).assignment("a1_backprop")
    opts = GradeOptions(out=tmp_path / "out", seed=1, sandbox="bwrap", insecure=False,
                        device="cpu", workers=1, regrade=True, progress=False)
    with pytest.raises(GraderFault, match="no usable cgroups"):
        grade_batch(cfg, batch, opts)
    grade_batch(cfg, batch, replace(opts, insecure=True))
    result = json.loads((tmp_path / "out" / "a1_backprop" / "s" / "results.json").read_text())
    assert result["isolation"]["cgroup"] == "none"
