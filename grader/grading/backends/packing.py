"""What travels to a grading node through the object store, as tar archives in memory: each
submission (the staged file or folder), and once per batch the assignment's course bundle
(the hidden suite, the starter module, the data set the suite reads). Nodes need no shared
file system and no checkout of the course; they need the grader installed and the sandbox.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

from grader.authoring.release import starter_text
from grader.course.config import AssignmentConfig
from grader.intake.identity import BatchEntry
from grader.mnist.data import DATASETS, SPLITS
from grader.mnist.scoring import private_test_set_path

SUITE, STARTER, DATA = "suite", "starter", "data"
SOURCE, ENTRY = "source", "entry"


def pack(members: dict[str, Path]) -> bytes:
    """A tar of each path (file or folder, symbolic links kept as links) under its name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in members.items():
            tar.add(path, arcname=name)
    return buffer.getvalue()


def unpack(data: bytes, dest: Path) -> None:
    """Extract ``pack``'s archive into ``dest``; a member outside ``dest`` is refused."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(dest, filter="tar")


def pack_submission(entry: BatchEntry) -> bytes:
    """The entry as staged (its ``source`` when intake found the folder inside it). A path
    that cannot be read packs nothing: the node then records the read error, as locally."""
    staged = entry.source or entry.path
    try:
        return pack({f"{SOURCE}/{staged.name}": staged})
    except OSError:
        return pack({})


def unpacked_entry(entry: BatchEntry, data: bytes, folder: Path) -> BatchEntry:
    """``entry`` pointing into ``folder``, where its packed submission is extracted; the
    names (and so the result's ``submission``) are the driver's."""
    unpack(data, folder)
    source = folder / SOURCE / (entry.source or entry.path).name
    if entry.source is None:
        return replace(entry, path=source)
    return replace(entry, path=folder / ENTRY / entry.path.name, source=source)


def data_files(cfg: AssignmentConfig) -> dict[str, Path]:
    """The data set files the suite reads, by their path relative to the data root: a6's
    configured data set (the test split; the training split too in retrain mode) and its
    private test set (which must lie under the data root)."""
    dataset = cfg.options.get("dataset")
    if dataset not in DATASETS:
        return {}
    mode = getattr(cfg.settings, "mode", "checkpoint")
    prefixes = (SPLITS["test"], *([SPLITS["train"]] if mode == "retrain" else []))
    raw = cfg.data_root / DATASETS[dataset] / "raw"
    found = {path.relative_to(cfg.data_root).as_posix(): path
             for path in sorted(raw.glob("*")) if path.name.startswith(prefixes)}
    private = private_test_set_path(cfg.settings, cfg.data_root) if cfg.settings else None
    if private is not None and private.is_file():
        if Path(cfg.settings.private_test_set).expanduser().is_absolute() or \
                not private.resolve().is_relative_to(cfg.data_root):
            raise ValueError(f"options.private_test_set {private}: the Ray backend ships the "
                             "data root to the nodes, so give a path relative to data_root")
        found[private.resolve().relative_to(cfg.data_root).as_posix()] = private
    return found


def pack_course(cfg: AssignmentConfig) -> bytes:
    """The course bundle of ``cfg``: hidden suite, starter module (the stub, never the
    reference solution) and data files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(cfg.hidden_tests, arcname=SUITE)
        for name, path in data_files(cfg).items():
            tar.add(path, arcname=f"{DATA}/{name}")
        starter = starter_text(cfg)
        if starter is not None:
            body = starter.encode()
            info = tarfile.TarInfo(f"{STARTER}/{cfg.module_file}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def unpacked_course(cfg: AssignmentConfig, data: bytes, folder: Path) -> AssignmentConfig:
    """``cfg`` reading its suite, starter and data from ``folder`` (the bundle extracted)."""
    unpack(data, folder)
    for name in (STARTER, DATA):
        (folder / name).mkdir(exist_ok=True)
    return replace(cfg, hidden_tests=folder / SUITE, data_root=folder / DATA,
                   solution_dir=folder / "no-solution", release_dir=folder / STARTER)
