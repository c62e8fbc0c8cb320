"""Starting the worker process: under bubblewrap with resource limits, or (only when the user
says --insecure) as a plain child process.

The bwrap view holds the system (read-only), the Python installation and virtualenv
(read-only, torch hidden unless the assignment allows it), this package (read-only, at
/opt/grader), the submission (read-only, at /submission, the working directory) and a private
size-limited tmpfs at /tmp. The repository, autotests/, solutions/ and results are not mounted.
The worker drops to an unprivileged uid inside, so the process limit holds, with no
capabilities and no way to regain any.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import grader

PACKAGE_DIR = Path(grader.__file__).resolve().parent
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
BLOCKED_WITHOUT_TORCH = ("torch", "torchvision", "torchgen", "functorch", "triton")
BLOCKER = PACKAGE_DIR / "sandbox" / "blocked_module.py"
SETPRIV = "/usr/bin/setpriv"
SETPRIV_CAP_NAMES = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
ZYGOTE_CAP_NAMES = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_SYS_ADMIN")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker process (grader.yaml keys of the same names)."""

    call_timeout_s: float = 30.0
    submission_timeout_s: float = 300.0
    memory_mb: int = 4096
    max_processes: int = 64
    max_file_mb: int = 64
    max_open_files: int = 256
    tmpfs_mb: int = 256


@dataclass(frozen=True)
class SandboxSpec:
    kind: str                 # "bwrap" or "none"
    submission_dir: Path
    limits: Limits
    allow_torch: bool = False
    device: str = "cpu"
    uid: int = 60001          # unprivileged uid inside the sandbox: one per parallel slot
    # cgroup.procs files the sandbox starts in (grader.sandbox.cgroups)
    cgroup_procs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Isolation:
    """What held a submission's worker (recorded in results.json as ``isolation``)."""

    cgroup: str                # "v2", "v1" or "none"
    seccomp: bool              # the worker's seccomp filter (grader.sandbox.seccomp)
    private_ipc_and_tmp: bool  # a fresh IPC namespace and /tmp per worker


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def set_worker_limits(limits: Limits) -> None:
    """Runs in the child between fork and exec (or in a zygote's fresh child): the limits
    pass on to the student's code."""
    mb = 1 << 20
    cpu = int(limits.submission_timeout_s) + 5
    for res, value in (
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, limits.max_file_mb * mb),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(res, (value, value))
    if limits.memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))


def tmp_inodes(limits: Limits) -> int:
    """Files a worker's /tmp may hold: tmpfs bounds bytes, and inodes cost kernel memory."""
    return max(1024, limits.tmpfs_mb * 16)


def join_cgroup(procs_files: tuple[str, ...]) -> None:
    """Move this process (before exec, so everything it starts follows) into its cgroups."""
    for path in procs_files:
        with open(path, "w") as fh:
            fh.write(str(os.getpid()))


def prepare_child(spec: SandboxSpec, limits: Limits) -> None:
    join_cgroup(spec.cgroup_procs)
    set_worker_limits(limits)
    if spec.kind != "bwrap":  # bwrap has --die-with-parent; a plain worker needs the same
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _site_packages() -> list[Path]:
    paths = {Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])}
    return sorted(p for p in paths if p.is_dir())


def _worker_env(device: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if device != "cuda":
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif "CUDA_VISIBLE_DEVICES" in os.environ:  # the GPUs a scheduler (Ray) gave this slot
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return env


def bwrap_command(spec: SandboxSpec, inner: list[str], drop_privileges: bool = True) -> list[str]:
    """The bubblewrap command line that runs ``inner`` inside the sandbox.

    ``inner`` runs as ``spec.uid`` with no capabilities; with ``drop_privileges=False`` it
    runs as root of the sandbox holding only ZYGOTE_CAPS (the zygote, which drops to the
    unprivileged uid itself in each child it forks).
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    cmd = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    for top in ("usr", "bin", "lib", "lib64", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    # /etc/fonts: without it fontconfig (matplotlib's fc-list) prints an error into the
    # student's output. /etc made 0755 first: bwrap's own 0700 parent hides it from the uid.
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives", "/etc/fonts"):
        cmd += ["--ro-bind-try", etc, etc]
    # The private /tmp comes first: a virtualenv that lives under /tmp (a CI checkout) is
    # bound on top of it afterwards instead of being hidden by it.
    cmd += ["--size", str(spec.limits.tmpfs_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).absolute()}
    made: set[Path] = {Path("/tmp")}
    for prefix in sorted(prefixes):
        # bwrap would create missing parents as 0700, which the unprivileged uid cannot cross.
        for parent in reversed(prefix.parents[:-1]):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", str(prefix), str(prefix)]
    base_site = Path(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                               "platbase": sys.base_prefix})["purelib"])
    if Path(sys.prefix) != Path(sys.base_prefix) and base_site.is_dir():
        cmd += ["--tmpfs", str(base_site)]  # the base install's packages are not the venv's
    if not spec.allow_torch:
        for site in _site_packages():
            for name in BLOCKED_WITHOUT_TORCH:
                if (site / name).is_dir():
                    cmd += ["--tmpfs", str(site / name),
                            "--ro-bind", str(BLOCKER), str(site / name / "__init__.py")]
    cmd += ["--perms", "0755", "--dir", "/opt/grader",
            "--ro-bind", str(PACKAGE_DIR), "/opt/grader/grader",
            "--ro-bind", str(spec.submission_dir), "/submission",
            "--proc", "/proc", "--dev", "/dev"]
    if spec.device == "cuda":
        for node in sorted(Path("/dev").glob("nvidia*")):
            cmd += ["--dev-bind", str(node), str(node)]
        cmd += ["--ro-bind-try", "/proc/driver/nvidia", "/proc/driver/nvidia",
                "--ro-bind-try", "/sys", "/sys"]
    for key, value in _worker_env(spec.device).items():
        cmd += ["--setenv", key, value]
    # bwrap run by root keeps every capability unless told to drop them all first; setpriv
    # needs SETPCAP to empty the bounding set.
    cmd += ["--chdir", "/opt/grader", "--cap-drop", "ALL"]
    for cap in SETPRIV_CAP_NAMES if drop_privileges else ZYGOTE_CAP_NAMES:
        cmd += ["--cap-add", cap]
    cmd.append("--")
    if drop_privileges:
        cmd += [SETPRIV, f"--reuid={spec.uid}", f"--regid={spec.uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return cmd + inner


def worker_options(spec: SandboxSpec) -> dict:
    return {"block_imports": [] if spec.allow_torch else list(BLOCKED_WITHOUT_TORCH)}



class WorkerProcess:
    """A running worker: the process and the two protocol pipes; it prints into ``out_fd``
    and maps its call arguments from the shared arena ``arena_fd`` (grader.sandbox.arena)."""

    def __init__(self, spec: SandboxSpec, out_fd: int, arena_fd: int) -> None:
        to_worker_r, self.to_worker = os.pipe()
        self.from_worker, from_worker_w = os.pipe()
        options = worker_options(spec) | {"arena_fd": arena_fd}
        if spec.kind == "bwrap":  # the worker isolates itself, as a zygote's child does
            options |= {"uid": spec.uid, "limits": dataclasses.asdict(spec.limits)}
        inner = [sys.executable, "-s", "-E", "-B", "-m", "grader.sandbox.worker",
                 str(to_worker_r), str(from_worker_w), json.dumps(options)]
        if spec.kind == "bwrap":
            cmd, cwd, env = bwrap_command(spec, inner, drop_privileges=False), None, None
            inner_submission = "/submission"
        else:
            cmd, cwd, env = inner, str(PACKAGE_DIR.parent), _worker_env(spec.device)
            inner_submission = str(spec.submission_dir)
        self.submission_path = inner_submission
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_fd,
            stderr=subprocess.STDOUT, pass_fds=(to_worker_r, from_worker_w, arena_fd),
            start_new_session=True, preexec_fn=lambda: prepare_child(spec, spec.limits),
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.tree_pid = self.proc.pid

    def kill(self) -> None:
        """Kill the worker's whole process tree (the pid namespace dies with bwrap)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass

    def wait_exit(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass

    def exit_description(self) -> str:
        code = self.proc.poll()
        return "still running" if code is None else describe_exit(code)


def describe_exit(code: int) -> str:
    """An exit code as ``subprocess`` reports it (negative: the signal) in words."""
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
