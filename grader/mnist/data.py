"""Provisioning and loading of the MNIST-family data sets through torchvision's own classes.

Layout and checksums are torchvision's: a data set ``name`` lives in ``<root>/<Class>/raw/``
(``<root>/MNIST/raw``, ``<root>/FashionMNIST/raw``) as the four IDX ``.gz`` files listed in
``<Class>.resources`` next to their decompressed copies, and every ``.gz`` is checked against the
MD5 in that attribute. ``fetch`` fills a root from, in order: what the root already holds, a
local directory of ``.gz`` files, then torchvision's own download; ``load_split`` reads one
split back with the torchvision class (never downloading). Importing this module does nothing:
torchvision is imported on first use.

``grader data fetch|status`` (grader/cli.py) calls ``fetch`` / ``inspect`` and ``describe``.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Data set name -> torchvision.datasets class name (which is also the folder under the root).
DATASETS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}

# Split -> prefix of its files in torchvision's ``resources``.
SPLITS: dict[str, str] = {"train": "train-", "test": "t10k-"}

# Local directories tried when ``fetch`` is given no source (Debian: dataset-fashion-mnist).
DEFAULT_SOURCES: dict[str, tuple[Path, ...]] = {
    "fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}

# The project's shared folder (``<shared>/data/<name>/`` holds a data set's IDX .gz files): this
# variable when set, else the first ``shared/`` found in the repository root or above it (a git
# worktree sits deeper than the main checkout, next to which ``shared/`` lives).
SHARED_ENV = "DL_GRADER_SHARED"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir(name: str) -> Path | None:
    """``<shared>/data/<name>`` if that folder exists, else None."""
    env = os.environ.get(SHARED_ENV)
    shared_dirs = [Path(env)] if env else [p / "shared" for p in (REPO_ROOT, *REPO_ROOT.parents)]
    for shared in shared_dirs:
        if (shared / "data" / name).is_dir():
            return shared / "data" / name
    return None


# Upstream gzip timestamps (MTIME, RFC 1952) of files whose packaged copies had their gzip header
# rewritten. Debian's build (dh_strip_nondeterminism) drops the stored file name and resets the
# timestamp but leaves the compressed stream and its CRC untouched, so putting the upstream
# header back gives the upstream bytes, which are then judged by torchvision's MD5 as usual.
# A wrong entry can only make a check fail, never pass.
UPSTREAM_GZIP_MTIME: dict[str, dict[str, int]] = {
    "FashionMNIST": {
        "train-images-idx3-ubyte.gz": 1504176606,
        "train-labels-idx1-ubyte.gz": 1504176606,
        "t10k-images-idx3-ubyte.gz": 1504176627,
        "t10k-labels-idx1-ubyte.gz": 1504176627,
    },
}

_GZIP_FNAME = 0x08


class DatasetMissingError(FileNotFoundError):
    """A split asked for is not (completely, or not verifiably) in the data root."""


@dataclass
class FileStatus:
    """One torchvision resource file after ``fetch``/``inspect``.

    ``state`` is ``"ok"`` (MD5 verified), ``"missing"`` or ``"bad_md5"``; ``origin`` says where
    a verified file came from (``"root"``, ``"copied from DIR"``, ``"downloaded"``).
    """

    filename: str
    split: str
    state: str
    origin: str = ""
    detail: str = ""
    extracted: bool = False  # the decompressed copy torchvision reads is there, of the right size
    header_restored: bool = False  # copied with its upstream gzip header put back


@dataclass
class FetchReport:
    """What ``fetch``/``inspect`` found for one data set under one root."""

    name: str
    class_name: str
    root: Path
    files: list[FileStatus]
    notes: list[str] = field(default_factory=list)

    @property
    def raw_folder(self) -> Path:
        """Where torchvision's class looks for the files: ``<root>/<Class>/raw``."""
        return self.root / self.class_name / "raw"

    def split_ok(self, split: str) -> bool:
        """Whether every file of ``split`` ("train" or "test") is present and verified."""
        return all(f.state == "ok" for f in self.files if f.split == split)

    @property
    def present(self) -> list[str]:
        """The splits that are complete and verified."""
        return [s for s in SPLITS if self.split_ok(s)]

    @property
    def missing(self) -> list[str]:
        """The splits with at least one missing or corrupt file."""
        return [s for s in SPLITS if not self.split_ok(s)]

    @property
    def corrupt(self) -> list[FileStatus]:
        """Files found but failing their MD5 check."""
        return [f for f in self.files if f.state == "bad_md5"]


def canonical_name(name: str) -> str:
    """Map user spellings ("fashion-mnist", "FashionMNIST", "MNIST") to a key of DATASETS."""
    key = name.strip().lower().replace("-", "_")
    for canonical, cls_name in DATASETS.items():
        if key in (canonical, cls_name.lower(), canonical.replace("_", "")):
            return canonical
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")


def torchvision_class(name: str) -> type:
    """The torchvision.datasets class of data set ``name`` (MNIST or FashionMNIST)."""
    import torchvision.datasets as tvd

    return getattr(tvd, DATASETS[canonical_name(name)])


def _split_of(filename: str) -> str:
    for split, prefix in SPLITS.items():
        if filename.startswith(prefix):
            return split
    raise ValueError(f"resource {filename!r} belongs to no known split")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _file_md5(path: Path) -> str:
    from torchvision.datasets.utils import calculate_md5

    return calculate_md5(str(path))


def _gzip_isize(path: Path) -> int:
    """Uncompressed size mod 2**32, from the gzip trailer (RFC 1952 ISIZE)."""
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return struct.unpack("<I", fh.read(4))[0]


def restore_gzip_header(data: bytes, filename: str, mtime: int) -> bytes | None:
    """Rebuild a gzip member's header as ``gzip`` writes it: stored name ``filename`` minus
    ``.gz`` and timestamp ``mtime``; the compressed stream and trailer are kept as they are.

    Returns None when ``data`` is not a gzip member with a plain header (only the FNAME flag
    may be set), since nothing else can be rebuilt faithfully.
    """
    if len(data) < 18 or data[:3] != b"\x1f\x8b\x08" or data[3] & ~_GZIP_FNAME:
        return None
    body = 10
    if data[3] & _GZIP_FNAME:
        end = data.find(b"\0", body)
        if end < 0:
            return None
        body = end + 1
    stored = filename.removesuffix(".gz").encode("latin-1") + b"\0"
    header = data[:3] + bytes([_GZIP_FNAME]) + struct.pack("<I", mtime) + data[8:10] + stored
    return header + data[body:]


def _source_candidates(source: Path, class_name: str, filename: str) -> list[Path]:
    # Accept a flat directory of .gz files or another torchvision root.
    return [source / filename, source / class_name / "raw" / filename]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _is_extracted(gz: Path) -> bool:
    out = gz.with_suffix("")
    return out.is_file() and out.stat().st_size % 2**32 == _gzip_isize(gz)


def _ensure_extracted(gz: Path) -> None:
    """Decompress a verified ``.gz`` next to itself unless an intact copy is already there."""
    from torchvision.datasets.utils import extract_archive

    if not _is_extracted(gz):
        extract_archive(str(gz), str(gz.parent))


def _check_root_file(raw: Path, filename: str, md5: str) -> FileStatus:
    path = raw / filename
    split = _split_of(filename)
    if not path.is_file():
        return FileStatus(filename, split, "missing")
    got = _file_md5(path)
    if got != md5:
        return FileStatus(filename, split, "bad_md5", detail=f"MD5 {got}, expected {md5}")
    return FileStatus(filename, split, "ok", origin="root", extracted=_is_extracted(path))


def _copy_from(source: Path, raw: Path, class_name: str, filename: str,
               md5: str) -> FileStatus | None:
    """Copy ``filename`` from ``source`` into ``raw`` if a copy there passes the MD5 check.

    Returns None when ``source`` has no such file, a ``bad_md5`` status when it has one that
    fails the check even with its upstream gzip header restored.
    """
    split = _split_of(filename)
    for candidate in _source_candidates(source, class_name, filename):
        if not candidate.is_file():
            continue
        data = candidate.read_bytes()
        got = _md5(data)
        if got != md5:
            mtime = UPSTREAM_GZIP_MTIME.get(class_name, {}).get(filename)
            restored = None if mtime is None else restore_gzip_header(data, filename, mtime)
            if restored is None or _md5(restored) != md5:
                return FileStatus(filename, split, "bad_md5",
                                  detail=f"{candidate}: MD5 {got}, expected {md5}")
        raw.mkdir(parents=True, exist_ok=True)
        _write_atomic(raw / filename, data if got == md5 else restored)
        return FileStatus(filename, split, "ok", origin=f"copied from {candidate.parent}",
                          header_restored=got != md5)
    return None


def inspect(name: str, root: Path) -> FetchReport:
    """Check what ``root`` holds for data set ``name`` (MD5 of every file); changes nothing."""
    cls = torchvision_class(name)
    root = Path(root).absolute()
    raw = root / cls.__name__ / "raw"
    files = [_check_root_file(raw, fn, md5) for fn, md5 in cls.resources]
    return FetchReport(canonical_name(name), cls.__name__, root, files)


def fetch(name: str, root: Path, source: Path | None = None, download: bool = False) -> FetchReport:
    """Provision data set ``name`` under ``root`` in torchvision's layout.

    Each of torchvision's resource files is taken from the first place that has a copy with
    torchvision's MD5: the root itself, then ``source`` (a directory of the ``.gz`` files; when
    None, the known system locations in DEFAULT_SOURCES and the shared folder), then
    torchvision's download when ``download`` is true. Verified files are decompressed for
    torchvision's loader. A split that is still incomplete afterwards is reported, not raised:
    MNIST's test set alone is a normal offline state.
    """
    report = inspect(name, root)
    resources = dict(torchvision_class(name).resources)
    raw = report.raw_folder
    shared = shared_data_dir(report.name)
    sources = [Path(source)] if source is not None else [
        p for p in (*DEFAULT_SOURCES.get(report.name, ()), shared) if p is not None and p.is_dir()]
    if source is not None and not Path(source).is_dir():
        report.notes.append(f"source {source} is not a directory")
        sources = []
    for i, status in enumerate(report.files):
        if status.state == "ok":
            continue
        for src in sources:
            copied = _copy_from(src, raw, report.class_name, status.filename,
                                resources[status.filename])
            if copied is not None:
                report.files[i] = status = copied
                if copied.state == "ok":
                    break
    if download and any(f.state != "ok" for f in report.files):
        _download(report)
    for status in report.files:
        if status.state == "ok":
            _ensure_extracted(raw / status.filename)
            status.extracted = True
    restored = [f.filename for f in report.files if f.header_restored]
    if restored:
        report.notes.append(f"the copies of {', '.join(restored)} had their gzip header rewritten "
                            "by their packaging; restored the upstream header (the compressed "
                            "data is untouched), after which the MD5s match torchvision's")
    looked = ["the root", *map(str, sources)] + (["torchvision's download"] if download else [])
    for status in report.files:
        if status.state == "missing":
            status.detail = "looked in " + ", ".join(looked)
    if report.missing and not download:
        report.notes.append("--download not set: torchvision was not asked to download")
    return report


def _download(report: FetchReport) -> None:
    """Let torchvision's class download what is missing (it skips files that already verify)."""
    cls = torchvision_class(report.name)
    before = {f.filename for f in report.files if f.state == "ok"}
    try:
        cls(str(report.root), train=True, download=True)
    except Exception as exc:  # network errors come in many types (URLError, OSError, ...)
        report.notes.append(f"torchvision download failed: {exc}".strip())
    after = inspect(report.name, report.root)
    for i, status in enumerate(after.files):
        if status.state == "ok" and status.filename not in before:
            status.origin = "downloaded"
            report.files[i] = status
        elif status.state != "ok" and report.files[i].state == "ok":
            report.files[i] = status  # a verified file cannot go bad, but say so if it did


def describe(report: FetchReport) -> str:
    """A plain account of a report: each split present or missing, file by file."""
    lines = [f"{report.name} (torchvision {report.class_name}) in {report.raw_folder}"]
    for split in SPLITS:
        files = [f for f in report.files if f.split == split]
        if report.split_ok(split):
            origins = sorted({f.origin for f in files})
            lines.append(f"  {split}: present, MD5 verified ({'; '.join(origins)})")
            continue
        lines.append(f"  {split}: MISSING")
        for f in files:
            what = {"ok": f"ok ({f.origin})", "missing": f"not found ({f.detail})",
                    "bad_md5": f"checksum mismatch: {f.detail}"}[f.state]
            lines.append(f"    {f.filename}: {what}")
    lines.extend(f"  note: {n}" for n in report.notes)
    return "\n".join(lines)


def _one_split_class(cls: type, split: str) -> type:
    """torchvision ``cls`` restricted to one split's resources.

    torchvision's loader insists on all four files even when asked for one split; MNIST's test
    set alone is legitimate here. The subclass keeps the class name because torchvision derives
    the folder (``<root>/<Class>/raw``) from it.
    """
    prefix = SPLITS[split]
    resources = [r for r in cls.resources if r[0].startswith(prefix)]
    return type(cls.__name__, (cls,), {"resources": resources})


def load_split(name: str, root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of data set ``name`` from ``root`` with torchvision (never downloads).

    Returns ``(images, labels)``: uint8 tensor (N, 28, 28) and int64 tensor (N,). Raises
    DatasetMissingError naming the missing or corrupt files and the command that provisions
    them.
    """
    split = "train" if train else "test"
    report = inspect(name, root)
    problems = {"missing": "missing", "bad_md5": "corrupt"}
    bad = [f"{f.filename} ({problems.get(f.state, 'not decompressed')})"
           for f in report.files if f.split == split and not (f.state == "ok" and f.extracted)]
    if bad:
        raise DatasetMissingError(
            f"the {split} split of {report.name} is not available in {report.raw_folder}: "
            f"{', '.join(bad)}. Provision it with `grader data fetch {report.name} --from DIR` "
            f"(a directory with the IDX .gz files) or `--download`.")
    cls = _one_split_class(torchvision_class(name), split)
    dataset = cls(str(report.root), train=train, download=False)
    return dataset.data, dataset.targets.long()
