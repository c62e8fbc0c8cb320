"""grader.mnist.data: provisioning MNIST / Fashion-MNIST in torchvision's layout, MD5-checked."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision.datasets import MNIST, FashionMNIST

from grader.cli import main as cli_main
from grader.mnist import data

ROOT = Path(__file__).resolve().parent.parent
MNIST_TEST_DIR = data.shared_data_dir("mnist") or Path("shared/data/mnist")
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

needs_mnist_copy = pytest.mark.skipif(
    not (MNIST_TEST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"SKIPPED LOUDLY: the offline MNIST test set is not in a shared/data/mnist above "
           f"{ROOT} (or ${data.SHARED_ENV}/data/mnist)")
needs_fashion_debian = pytest.mark.skipif(
    not (FASHION_DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"SKIPPED LOUDLY: Fashion-MNIST is not installed at {FASHION_DEBIAN_DIR} "
           "(apt-get install dataset-fashion-mnist)")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, data.FetchReport]:
    root = tmp_path_factory.mktemp("mnist_root")
    return root, data.fetch("mnist", root, source=MNIST_TEST_DIR)


@needs_mnist_copy
def test_mnist_test_split_is_fetched_with_torchvision_md5s(mnist_root) -> None:
    root, report = mnist_root
    assert report.present == ["test"]
    for filename, expected in MNIST.resources:
        if filename.startswith("t10k-"):
            assert md5(root / "MNIST" / "raw" / filename) == expected


@needs_mnist_copy
def test_mnist_test_split_loads_through_torchvision(mnist_root) -> None:
    root, _ = mnist_root
    images, labels = data.load_split("mnist", root, train=False)
    assert images.dtype == torch.uint8 and tuple(images.shape) == (10000, 28, 28)
    assert labels.dtype == torch.int64 and tuple(labels.shape) == (10000,)
    assert labels[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]  # the well-known first digits
    assert torch.bincount(labels).tolist()[0] == 980  # zeros in the MNIST test set


@needs_mnist_copy
def test_missing_mnist_train_split_is_reported_plainly(mnist_root) -> None:
    _, report = mnist_root
    assert report.missing == ["train"]
    text = data.describe(report)
    assert "train: MISSING" in text and "test: present, MD5 verified" in text
    assert "train-images-idx3-ubyte.gz: not found" in text


@needs_mnist_copy
def test_load_split_names_the_missing_files_and_the_fix(mnist_root) -> None:
    root, _ = mnist_root
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_split("mnist", root, train=True)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz (missing)" in message
    assert "grader data fetch mnist" in message


@needs_mnist_copy
def test_second_fetch_reuses_the_root(mnist_root) -> None:
    root, _ = mnist_root
    report = data.fetch("mnist", root)
    assert report.present == ["test"]
    assert {f.origin for f in report.files if f.split == "test"} == {"root"}


@needs_mnist_copy
def test_corrupt_source_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(MNIST_TEST_DIR / name, source / name)
    labels = source / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(labels.read_bytes())
    raw[100] ^= 0xFF
    labels.write_bytes(bytes(raw))
    report = data.fetch("mnist", tmp_path / "root", source=source)
    assert report.missing == ["train", "test"]
    assert [f.filename for f in report.corrupt] == ["t10k-labels-idx1-ubyte.gz"]
    assert "checksum mismatch" in data.describe(report)
    assert not (tmp_path / "root" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").exists()


@needs_fashion_debian
def test_fashion_mnist_debian_copy_verifies_with_torchvision_md5s(tmp_path: Path) -> None:
    report = data.fetch("fashion_mnist", tmp_path, source=FASHION_DEBIAN_DIR)
    assert report.present == ["train", "test"], data.describe(report)
    for filename, expected in FashionMNIST.resources:
        assert md5(tmp_path / "FashionMNIST" / "raw" / filename) == expected
    images, labels = data.load_split("fashion_mnist", tmp_path, train=True)
    assert tuple(images.shape) == (60000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [6000] * 10


def test_restore_gzip_header_rebuilds_what_gzip_wrote() -> None:
    payload = bytes(range(256)) * 50
    buf = io.BytesIO()
    with gzip.GzipFile(filename="t10k-x", mode="wb", fileobj=buf, mtime=1504176627) as fh:
        fh.write(payload)
    original = buf.getvalue()
    # What reproducible-build tools leave: no stored name, a normalized timestamp.
    stripped = original[:3] + b"\x00" + b"\x00\x00\x00\x00" + original[8:10] \
        + original[10 + len(b"t10k-x\0"):]
    restored = data.restore_gzip_header(stripped, "t10k-x.gz", 1504176627)
    assert restored == original
    assert gzip.decompress(restored) == payload


def test_restore_gzip_header_refuses_non_gzip_data() -> None:
    assert data.restore_gzip_header(b"not a gzip file at all", "x.gz", 0) is None


def test_canonical_name_accepts_common_spellings() -> None:
    assert {data.canonical_name(n) for n in ("fashion-mnist", "FashionMNIST",
                                             "fashion_mnist")} == {"fashion_mnist"}
    with pytest.raises(ValueError, match="unknown data set"):
        data.canonical_name("cifar10")


@needs_mnist_copy
def test_main_data_fetch_prints_the_report_and_succeeds(tmp_path: Path, capsys) -> None:
    code = cli_main(["data", "fetch", "mnist", "--root", str(tmp_path),
                     "--from", str(MNIST_TEST_DIR)])
    assert code == 0
    assert "test: present, MD5 verified" in capsys.readouterr().out


def test_shared_data_dir_follows_the_environment_variable(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    monkeypatch.setenv(data.SHARED_ENV, str(tmp_path))
    assert data.shared_data_dir("mnist") == tmp_path / "data" / "mnist"
    assert data.shared_data_dir("fashion_mnist") is None


@needs_mnist_copy
def test_fetch_without_a_source_finds_mnist_in_the_shared_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    (shared / "data" / "mnist").mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(MNIST_TEST_DIR / name, shared / "data" / "mnist" / name)
    monkeypatch.setenv(data.SHARED_ENV, str(shared))
    report = data.fetch("mnist", tmp_path / "root")
    assert report.present == ["test"], data.describe(report)


def test_main_data_status_of_an_empty_root_fails(tmp_path: Path, capsys) -> None:
    assert cli_main(["data", "status", "mnist", "--root", str(tmp_path)]) == 1
    assert "test: MISSING" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # status changes nothing


def test_importing_grader_data_does_not_import_torchvision() -> None:
    code = "import sys, grader.mnist.data; print('torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
