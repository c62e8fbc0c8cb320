"""Process set-up of a sandboxed worker, done by the worker's own process before student code
runs: a private IPC namespace and /tmp, capability sets emptied, no_new_privs.

The zygote keeps only ZYGOTE_CAPS (it forks workers, mounts their /tmp and drops their
privileges); ``shrink_zygote_caps`` runs once at its start. Everything here uses raw libc
calls through ctypes because Python 3.11 has no unshare/mount/capset.
"""

from __future__ import annotations

import ctypes
import os
import sys

from grader.sandbox.bwrap import Limits, set_worker_limits, tmp_inodes

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 0x1, 0x2, 0x4, 0x20, 0x1000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_ADMIN = 6, 7, 8, 21
# SETUID/SETGID: the uid drop; SETPCAP: emptying a worker's bounding set; SYS_ADMIN: the
# per-worker unshare and tmpfs mount.
ZYGOTE_CAPS = (CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_ADMIN)

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        return int(fh.read())


def _set_caps(effective: int, permitted: int, inheritable: int) -> None:
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):  # two 32-bit halves of each 64-bit set
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _drop_bounding(keep: tuple[int, ...]) -> None:
    for cap in range(_last_cap() + 1):
        if cap not in keep:
            _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"dropping capability {cap}")


def shrink_zygote_caps() -> None:
    """The zygote at start: every set down to ZYGOTE_CAPS, nothing inheritable or ambient."""
    keep = sum(1 << cap for cap in ZYGOTE_CAPS)
    _drop_bounding(ZYGOTE_CAPS)
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient")
    _set_caps(keep, keep, 0)


def private_ipc_and_tmp(tmp_bytes: int, tmp_inodes: int) -> None:
    """A fresh IPC namespace and a fresh tmpfs at /tmp bounded in bytes and inodes: both are
    discarded by the kernel when the worker's last process exits."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
    # A Python installation under /tmp (a CI checkout's venv) is bound again on top.
    keep = sorted({p for p in (sys.prefix, os.path.realpath(sys.base_prefix))
                   if p.startswith("/tmp/")})
    held = [os.open(path, os.O_PATH) for path in keep]
    options = f"size={tmp_bytes},nr_inodes={tmp_inodes},mode=1777".encode()
    _check(_libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options),
           "mounting /tmp")
    for path, fd in zip(keep, held, strict=True):
        os.makedirs(path, mode=0o755, exist_ok=True)
        target = path.encode()
        _check(_libc.mount(f"/proc/self/fd/{fd}".encode(), target, None, MS_BIND | MS_REC,
                           None), f"binding {path}")
        _check(_libc.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
               f"making {path} read-only")
        os.close(fd)


def isolate_worker(uid: int, limits: Limits) -> None:
    """Runs as root of the sandbox in the process that becomes the worker (a zygote's child,
    or a cold worker at its start), before anything of the student's is loaded."""
    private_ipc_and_tmp(limits.tmpfs_mb << 20, tmp_inodes(limits))
    prefer_oom_kill()
    set_worker_limits(limits)
    drop_to_uid(uid)


def prefer_oom_kill() -> None:
    """The kernel's OOM killer picks this process (and its children) before the zygote."""
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")


def drop_to_uid(uid: int) -> None:
    """Become ``uid`` with empty permitted, effective, inheritable, ambient and bounding
    capability sets and no_new_privs (nothing can be regained, not even through exec)."""
    _drop_bounding(())
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # all ids non-zero: permitted and effective are cleared
    _set_caps(0, 0, 0)
    no_new_privs()


def no_new_privs() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
