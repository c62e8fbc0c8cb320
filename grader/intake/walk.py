"""Reading a submission's files without trusting the shape of its tree.

A submission is a tree a student built: it may be thousands of folders deep, hold millions of
entries, links to anything on the host (``/proc/self/pagemap`` reads as 100+ GiB), pipes that
block whoever opens them, or files larger than the disk quota of a course. Everything the
trusted side reads of it goes through here:

* the walk is a loop over a stack, never recursion, and stops at ``MAX_DEPTH`` folders deep and
  ``MAX_ENTRIES`` entries;
* links are never followed: a walk reports them (staging refuses them, the digest hashes the
  link's own text), and a root that resolves into ``/proc``, ``/sys`` or ``/dev`` is refused;
* files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and read only when they are regular files,
  at most ``MAX_READ_BYTES`` in all and before a deadline.

Every violation raises ``WalkError``: a message for the student, never a crash of the batch.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_DEPTH = 32                # folders below the submission's own
MAX_ENTRIES = 5_000           # files, folders and links seen in one walk
MAX_READ_BYTES = 256 << 20    # bytes hashed per submission
READ_SECONDS = 20.0           # wall clock for reading one submission
HOST_ONLY = ("/proc", "/sys", "/dev")
_CHUNK = 1 << 16


class WalkError(ValueError):
    """The submission's tree is beyond what the grader reads; the message is for the student."""


@dataclass(frozen=True)
class Found:
    """One entry of a walk, as ``lstat`` saw it (links not followed)."""

    path: Path
    relative: str       # posix path below the walk's root
    kind: str           # file | dir | link | other (a pipe, socket or device)
    size: int


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def refuse_host_paths(path: Path) -> None:
    """A submission that is, or resolves into, the host's /proc, /sys or /dev is refused."""
    real = os.path.realpath(path)
    for top in HOST_ONLY:
        if real == top or real.startswith(top + "/"):
            raise WalkError(f"{path.name} is inside the host's {top}; submit your own files")


def walk(root: Path, *, skip: Callable[[str], bool] | None = None,
         max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES) -> list[Found]:
    """Every entry under the folder ``root`` (not ``root`` itself), sorted by path components.
    ``skip(relative)`` leaves an entry and everything below it out (OS litter)."""
    refuse_host_paths(root)
    found: list[Found] = []
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if skip is not None and skip(relative):
                    continue
                if len(found) >= max_entries:
                    raise WalkError(f"the submission holds more than {max_entries} files and "
                                    "folders; submit only your code and the files it reads")
                info = entry.stat(follow_symlinks=False)
                item = Found(Path(entry.path), relative, _kind(info.st_mode), info.st_size)
                found.append(item)
                if item.kind == "dir":
                    if depth + 1 > max_depth:
                        raise WalkError(f"the submission's folders nest more than {max_depth} "
                                        f"deep ({relative[:80]}/...); submit a flat folder")
                    stack.append((item.path, relative + "/", depth + 1))
    found.sort(key=lambda f: f.relative.split("/"))  # pathlib's order: digests stay as before
    return found


class _Budget:
    """Bytes and seconds left for reading one submission."""

    def __init__(self, max_bytes: int, seconds: float) -> None:
        self.left = max_bytes
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def take(self, n: int, name: str) -> None:
        self.left -= n
        if self.left < 0:
            raise WalkError(f"the submission is larger than {self.max_bytes >> 20} MiB "
                            f"(reading {name}); submit only your code and the files it reads")
        if time.monotonic() > self.deadline:
            raise WalkError(f"reading the submission took longer than {self.seconds:g} s "
                            f"(at {name})")


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def _open_regular(path: Path, name: str) -> BinaryIO:
    """A regular file opened for reading without following a link or blocking on a pipe."""
    fh = open(path, "rb", buffering=0, opener=_no_follow)
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise WalkError(f"{name} is not a regular file (a pipe, socket or device); "
                        "submit plain files")
    return fh


def _hash_file(path: Path, name: str, budget: _Budget) -> bytes:
    """sha256 of a regular file, read in chunks against the submission's budget."""
    with _open_regular(path, name) as fh:
        h = hashlib.sha256()
        while chunk := fh.read(_CHUNK):
            budget.take(len(chunk), name)
            h.update(chunk)
        return h.digest()


def read_head(path: Path, limit: int) -> bytes:
    """Up to ``limit`` bytes of a regular file, opened without following a link or blocking
    on a pipe (WalkError for anything else)."""
    with _open_regular(path, path.name) as fh:
        parts, left = [], limit
        while left > 0 and (chunk := fh.read(min(left, _CHUNK))):
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)


def digest(path: Path, *, max_bytes: int = MAX_READ_BYTES,
           seconds: float = READ_SECONDS) -> str:
    """sha256 over a submission's files (relative names and bytes). Links are hashed as
    their own text, never followed; pipes, sockets and devices are refused (WalkError)."""
    budget = _Budget(max_bytes, seconds)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise WalkError(f"{path.name} is a symbolic link; submit plain files")
    h = hashlib.sha256()
    if not stat.S_ISDIR(info.st_mode):
        refuse_host_paths(path)
        h.update(os.fsencode(path.name) + b"\0")  # the bytes, whatever they are
        h.update(_hash_file(path, path.name, budget))
        return h.hexdigest()
    for found in walk(path):
        if found.kind == "dir":
            continue
        h.update(found.relative.encode(errors="surrogateescape") + b"\0")
        if found.kind == "link":  # the link's text only: what it points to is not the student's
            h.update(b"link:" + os.fsencode(os.readlink(found.path)))
        elif found.kind == "other":
            raise WalkError(f"{found.relative} is not a regular file (a pipe, socket or "
                            "device); submit plain files")
        else:
            h.update(_hash_file(found.path, found.relative, budget))
    return h.hexdigest()
