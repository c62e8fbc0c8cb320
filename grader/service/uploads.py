"""The upload store: every uploaded file once, named by its sha256, under the data folder
(never a served folder). Files are written to a temporary name and renamed when complete."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 16


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def receive(stream: BinaryIO, dest: Path) -> tuple[str, int]:
    """Copy ``stream`` to ``dest`` (fsynced), hashing it on the way; (sha256, size)."""
    h, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        while chunk := stream.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest(), size


def keep(root: Path, received: Path, sha256: str) -> None:
    """Move a received file into the store under its hash (same file system: atomic)."""
    final = blob_path(root, sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(received, final)


def store(root: Path, stream: BinaryIO) -> tuple[str, int]:
    """Copy ``stream`` into the store; returns (sha256, size). Durable before it returns."""
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".incoming-")
    os.close(fd)
    try:
        sha, size = receive(stream, Path(tmp))
        keep(root, Path(tmp), sha)
        return sha, size
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def materialize(root: Path, sha256: str, dest: Path, mtime: float) -> Path:
    """A copy of the blob at ``dest`` (with the name the student gave it) whose mtime is the
    upload time: the engine's late rule reads the file time."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(blob_path(root, sha256), dest)
    os.utime(dest, (mtime, mtime))
    return dest
