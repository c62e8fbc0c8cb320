"""Warm sandboxed workers: a zygote imports numpy (and torch) once, then forks a fresh worker
for each submission.

The zygote is a long-lived bubblewrap sandbox per parallel slot. It runs as root of the
sandbox holding only the capabilities in ``worker_isolation.ZYGOTE_CAPS``, so each child it
forks can take a fresh IPC namespace and /tmp and drop to the slot's unprivileged uid, with
empty capability sets, ``no_new_privs`` and a seccomp filter, before any student code runs. A
student's processes can therefore neither signal nor trace the zygote. Between two students
the zygote kills every process of that uid; the worker's IPC objects and /tmp die with its
namespaces: nothing survives from one student to the next but the zygote's own imports, which
the child only has a copy-on-write copy of.

Trusted side: ``Zygote`` (start, ``spawn`` a worker, ``reap``). Sandbox side: ``main``.
Requests travel over a Unix socket as JSON, with the worker's pipe ends and its shared arena
(grader.sandbox.arena) passed as fds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

from grader.sandbox.bwrap import (
    Limits,
    SandboxSpec,
    bwrap_command,
    describe_exit,
    prepare_child,
    worker_options,
)
from grader.sandbox.isolation import isolate_worker, shrink_zygote_caps

READY = b"ready"
# A spawn or reap takes milliseconds; a zygote that has not answered by then is stuck.
REPLY_TIMEOUT_S = 30.0


# -- sandbox side --------------------------------------------------------------------------------

def _become_worker(request: dict, fds: list[int]) -> None:
    """In the forked child: own IPC namespace and /tmp, limits, unprivileged uid without any
    capability, seccomp, then serve the trusted proxy."""
    from grader.sandbox import seccomp
    from grader.sandbox.worker import Worker, restrict_imports

    to_worker_r, from_worker_w, out_fd, arena_fd = fds
    isolate_worker(int(request["uid"]), Limits(**request["limits"]))
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd in (out_fd, devnull):
        os.close(fd)
    restrict_imports(request["options"].get("block_imports", []))
    seccomp.install()
    Worker(to_worker_r, from_worker_w, arena_fd).serve()


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` in this pid namespace (a helper with that uid does it:
    kill(-1) reaches exactly the processes its uid may signal)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, 9)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _wait_gone(uid: int, timeout: float = 2.0) -> None:
    """SIGKILL is delivered asynchronously; our children are reaped here, orphans by the
    sandbox's init: wait (bounded) until no process of ``uid`` is left, so the next worker
    starts alone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap_children()
        left = False
        for entry in os.scandir("/proc"):
            try:
                left = entry.name.isdigit() and entry.stat().st_uid == uid
            except OSError:
                continue  # exited meanwhile
            if left:
                break
        if not left:
            return
        time.sleep(0.005)


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wait_exit(pid: int, timeout: float) -> str:
    """How the worker ``pid`` (our child) ended, waiting up to ``timeout`` s; "still running"
    when it has not, "" when it is no longer ours to ask about (already reaped)."""
    deadline = time.monotonic() + min(timeout, REPLY_TIMEOUT_S / 2)
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return ""
        if done:
            return describe_exit(os.waitstatus_to_exitcode(status))
        if time.monotonic() >= deadline:
            return "still running"
        time.sleep(0.005)


def main() -> None:
    import gc
    import importlib

    shrink_zygote_caps()
    ctl = socket.socket(fileno=int(sys.argv[1]))
    for name in json.loads(sys.argv[2]):
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    ctl.sendall(READY)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 1 << 16, 4)
        except OSError:
            return
        if not data:
            return
        request = json.loads(data)
        if request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                try:
                    ctl.close()
                    _become_worker(request, fds)
                except BaseException:
                    traceback.print_exc()  # a failed set-up: into the zygote's log
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif request["op"] == "wait":  # how a worker ended, once it has
            reply = {"exit": _wait_exit(int(request["pid"]), float(request["timeout"]))}
        else:  # "reap": the previous student is gone for good
            _kill_uid(int(request["uid"]))
            _wait_gone(int(request["uid"]))  # their IPC namespaces and /tmp mounts go too
            reply = {"ok": True}
        ctl.sendall(json.dumps(reply).encode())


# -- trusted side ------------------------------------------------------------------------------

class ZygoteError(RuntimeError):
    pass


class Zygote:
    """One warm sandbox for one parallel slot; submissions are staged under ``inbox``."""

    def __init__(self, spec: SandboxSpec, inbox: Path, log_path: Path,
                 start_timeout: float = 120.0) -> None:
        self.spec, self.inbox = spec, inbox
        self.killed = False
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = mine
        preload = ["numpy", "grader.sandbox.worker"] + (["torch"] if spec.allow_torch else [])
        inner = [sys.executable, "-s", "-E", "-B", "-m", "grader.sandbox.zygote",
                 str(theirs.fileno()), json.dumps(preload)]
        zygote_spec = SandboxSpec(spec.kind, inbox, spec.limits, spec.allow_torch,
                                  spec.device, spec.uid, spec.cgroup_procs)
        # The zygote is ours, not the student's: it only needs room to import torch.
        limits = Limits(memory_mb=0, max_processes=4096, max_file_mb=1024,
                        max_open_files=4096, submission_timeout_s=10**7)
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            bwrap_command(zygote_spec, inner, drop_privileges=False),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(),), start_new_session=True,
            preexec_fn=lambda: prepare_child(zygote_spec, limits))
        theirs.close()
        self.sock.settimeout(start_timeout)
        try:
            if self.sock.recv(16) != READY:
                raise ZygoteError("the zygote did not start")
        except OSError as exc:
            self.close()
            raise ZygoteError(f"the zygote did not start ({exc})") from None

    def _request(self, request: dict, fds: list[int] = ()) -> dict:
        """One request and its reply. A zygote that fails one is killed: a late reply would
        answer the next request, so it can never be trusted again (the batch replaces it)."""
        try:
            self.sock.settimeout(REPLY_TIMEOUT_S)
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            reply = self.sock.recv(1 << 16)
            if not reply:
                raise ZygoteError("the zygote exited")
            return json.loads(reply)
        except (OSError, ValueError, ZygoteError) as exc:
            self.kill()
            raise ZygoteError(f"the zygote stopped answering ({exc})") from None

    @property
    def usable(self) -> bool:
        """False once killed after a failed request. Not ``proc.poll()``: a grading child
        shares the zygote without being its parent, and there poll() reads as exited."""
        return not self.killed

    def kill(self) -> None:
        """Kill the zygote and everything it forked (also from a grading child, which shares
        it with the batch: the batch then sees it dead and starts a new one)."""
        self.killed = True
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        self._request({"op": "reap", "uid": self.spec.uid})

    def close(self) -> None:
        self.kill()
        self.proc.wait()
        self.sock.close()
        self.log.close()


class ZygoteWorker:
    """A worker forked by a zygote (a ``grader.sandbox.workers.Worker``)."""

    def __init__(self, zygote: Zygote, submission: str, out_fd: int, arena_fd: int) -> None:
        self.zygote = zygote
        to_worker_r, self.to_worker = os.pipe()
        self.from_worker, from_worker_w = os.pipe()
        limits = {k: getattr(zygote.spec.limits, k) for k in Limits.__dataclass_fields__}
        try:
            self.pid = zygote._request({"op": "spawn", "uid": zygote.spec.uid, "limits": limits,
                             "options": worker_options(zygote.spec)},
                            [to_worker_r, from_worker_w, out_fd, arena_fd])["pid"]
        except ZygoteError:
            os.close(self.to_worker)
            os.close(self.from_worker)
            raise
        finally:
            for fd in (to_worker_r, from_worker_w):
                os.close(fd)
        self.submission_path = f"/submission/{submission}"
        self.tree_pid = zygote.proc.pid  # self.pid is the zygote's pid namespace's number
        self.dead = False
        self.ended = ""  # how it ended, once the zygote has told us

    def kill(self) -> None:
        if not self.dead:
            self.dead = True
            for fd in (self.to_worker, self.from_worker):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                self.zygote.reap()
            except ZygoteError:
                pass  # the zygote is killed; the batch starts a new one for the next student

    def wait_exit(self, timeout: float) -> None:
        if self.ended or self.dead:
            return
        try:
            found = self.zygote._request({"op": "wait", "pid": self.pid, "timeout": timeout})
        except ZygoteError:
            found = {"exit": "its zygote stopped"}
        exit_text = found.get("exit")
        if isinstance(exit_text, str) and exit_text != "still running":
            self.ended = exit_text or "exited"

    def exit_description(self) -> str:
        return self.ended or "still running"


if __name__ == "__main__":
    main()
