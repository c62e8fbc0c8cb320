"""The seccomp filter a worker installs on itself before the student's module is imported.

Default allow, deny a list: what a grading worker (numpy, torch, threads, files in /tmp)
never needs and an attacker would use to leave state outside the worker (kernel keyrings are
per host uid, not namespaced), to build new namespaces (user namespaces would give the
student a root of their own and a tmpfs outside the memory limit), to reach other processes
(ptrace, process_vm_*) or the kernel's larger attack surface (bpf, perf, userfaultfd,
io_uring, modules, mount API). Docker's default profile takes the opposite shape (default
deny, a list of ~350 allowed calls, some allowed only for CAP_SYS_ADMIN); a short deny list
is enough here because the worker already runs without capabilities under no_new_privs.
Sockets are the exception, an allow list by family: only AF_UNIX opens (EAFNOSUPPORT, as from
a kernel built without the family, for the rest).
"""

from __future__ import annotations

import errno
import socket

# Imported while the process is still root: as the sandbox uid, pyseccomp's library lookup
# (ldconfig) cannot read the host's /etc/ld.so.cache.
import pyseccomp as seccomp

DENIED = (
    "add_key", "request_key", "keyctl",
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr",
    "unshare", "setns",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "lookup_dcookie",
)
# The one socket family a worker needs: AF_UNIX (multiprocessing, torch's own helpers). Every
# other family is refused: AF_VSOCK reaches the hypervisor on a VM, AF_NETLINK the host
# kernel's routing and audit interfaces, AF_PACKET raw frames, and AF_INET/AF_INET6 loopback
# would park socket buffers in kernel memory (no suite needs them).
ALLOWED_SOCKET_FAMILY = socket.AF_UNIX
# clone() flags that create namespaces: threads and fork() never use them.
NAMESPACE_FLAGS = (0x00000080, 0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000,
                   0x20000000, 0x40000000)


def install() -> None:
    """Load the filter into this process (inherited by every child, irrevocable)."""
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (OSError, ValueError):
            pass  # not a system call on this architecture
    for flag in NAMESPACE_FLAGS:
        flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone",
                     seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    for call in ("socket", "socketpair"):  # the family is the first argument of both
        flt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), call,
                     seccomp.Arg(0, seccomp.NE, ALLOWED_SOCKET_FAMILY))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc use clone.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    flt.load()
