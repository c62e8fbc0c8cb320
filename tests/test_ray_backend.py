"""The Ray backend: grading on a real local Ray cluster (a head and a second node on
127.0.0.1, one CPU each) gives the local pool's scores; a node killed mid-batch loses no
submission and duplicates none; and the parts that need no cluster (the missing-Ray message,
a node without the sandbox, the course's backend and resources, the packing)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grader.cli import main
from grader.course.config import ConfigError, load_config
from grader.grading.backends.packing import pack_submission, unpacked_entry
from grader.grading.batch import grade_batch
from grader.grading.options import GradeOptions, GraderFault
from grader.intake.identity import plan_batch
from grader.results.store import AssignmentResults, read_result
from tests.conftest import ROOT, solution_text, write_config
from tests.ray_cluster import LocalCluster, two_nodes

SEED = 4242


def _require_ray() -> None:
    """Skipped loudly without Ray; failed under CI=true, where it must be installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        message = ("Ray is not installed: pip install -e '.[ray]' to run the Ray backend "
                   "tests")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"SKIPPED RAY TEST: {message}")


# -- on a local cluster ---------------------------------------------------------------------------

MIXED = {"a1_backprop": ("alice.py", "bob.py"), "a2_softmax": ("alice.py", "bob.py"),
         "a6_mnist": ("alice",)}  # a6: the reference checkpoints, scored on Fashion-MNIST
# a6 loads torch and scores 20,000 images per model: the course's own time limits.
LIMITS = {"a6_mnist": {"call_timeout_s": 300, "submission_timeout_s": 900, "memory_mb": 12288}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    _require_ray()
    with two_nodes() as nodes:
        yield nodes


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's example submissions of MIXED, built from the reference solutions."""
    out = tmp_path_factory.mktemp("examples")
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_examples.py"), str(out),
                    *MIXED], check=True, capture_output=True, timeout=300)
    for assignment, keep in MIXED.items():
        for path in (out / assignment).iterdir():
            if path.name not in keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return out


def _options(out: Path) -> GradeOptions:
    return GradeOptions(out=out, seed=SEED, sandbox="bwrap", insecure=False, device="cpu",
                        workers=2, regrade=True, progress=False)


def _scores(out: Path, assignment: str) -> dict[str, tuple]:
    """Per student: status, score and every test's id, status and score."""
    found = {}
    for files in AssignmentResults.of(out, assignment).students():
        result = read_result(files.results)
        found[files.folder.name] = (result.status, result.score, sorted(
            (t.test_id, t.status, t.score) for t in result.tests))
    return found


@pytest.mark.sandbox
@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("assignment", list(MIXED))
def test_the_cluster_gives_every_submission_the_local_pools_score(
        assignment: str, cluster: LocalCluster, examples: Path, tmp_path: Path) -> None:
    from grader.grading.backends.ray_cluster import RayBackend

    cfg = load_config(write_config(tmp_path, assignment, **LIMITS.get(assignment, {}))) \
        .assignment(assignment)
    local = grade_batch(cfg, examples / assignment, _options(tmp_path / "local"))
    remote = grade_batch(cfg, examples / assignment, _options(tmp_path / "ray"),
                         backend=RayBackend(cluster.address))
    assert remote.graded == local.graded == len(MIXED[assignment])
    assert remote.faults == 0 and sum(remote.nodes.values()) == remote.graded
    assert "local" not in remote.nodes
    on_cluster = _scores(tmp_path / "ray", assignment)
    assert on_cluster == _scores(tmp_path / "local", assignment)
    assert on_cluster["alice"][1] == cfg.points  # the reference solution: full marks
    for files in AssignmentResults.of(tmp_path / "ray", assignment).students():
        assert files.graded_module.is_file()  # the graded code came back with the result


TOY_SUITE = '''
import os
import time

import pytest

MARKERS = {markers!r}


def _raylet() -> int:
    """The raylet of the node grading this submission (this process's grandparent)."""
    with open(f"/proc/{{os.getppid()}}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.points(2)
def test_double(student):
    """double(x) returns 2x"""
    open(os.path.join(MARKERS, f"{{_raylet()}}-{{os.getpid()}}"), "w").close()
    time.sleep(float(student.PAUSE))
    assert student.double(3) == 6, "double(3) should be 6"
'''


def _toy_course(tmp: Path, n: int, pause: float = 3) -> tuple[Path, Path, Path]:
    """A suite that leaves a marker naming the node's raylet as each grading starts, then
    takes ``pause`` s; ``n`` submissions, the odd ones wrong. Returns config, batch, markers."""
    markers = tmp / "markers"
    markers.mkdir()
    (tmp / "suite").mkdir()
    (tmp / "suite" / "test_toy.py").write_text(TOY_SUITE.format(markers=str(markers)))
    config = tmp / "grader.yaml"
    config.write_text(f"defaults:\n  call_timeout_s: 20\nassignments:\n  toy:\n"
                      f"    module: toy\n    points: 2\n    hidden_tests: {tmp / 'suite'}\n")
    subs = tmp / "subs"
    subs.mkdir()
    for i in range(n):
        body = "x * 2" if i % 2 == 0 else "x + 2"
        (subs / f"s{i}.py").write_text(f"PAUSE = {pause}\ndef double(x):\n    return {body}\n")
    return config, subs, markers


@pytest.mark.sandbox
@pytest.mark.ray
@pytest.mark.slow
def test_a_node_killed_mid_batch_has_its_submission_graded_elsewhere_exactly_once(
        cluster: LocalCluster, tmp_path: Path) -> None:
    from grader.grading.backends.ray_cluster import RayBackend

    n = 6
    config, subs, markers = _toy_course(tmp_path, n)
    cfg = load_config(config).assignment("toy")
    victim = cluster.node()
    raylet = cluster.raylet(victim)
    killed = threading.Event()

    def kill_when_grading() -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if any(p.name.startswith(f"{raylet}-") for p in markers.iterdir()):
                cluster.kill(victim)
                killed.set()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_grading, daemon=True)
    killer.start()
    summary = grade_batch(cfg, subs, _options(tmp_path / "out"),
                          backend=RayBackend(cluster.address))
    killer.join(timeout=5)
    assert killed.is_set(), "the third node never started grading: nothing was killed"
    assert summary.graded == n and summary.faults == 0
    found = {files.folder.name: read_result(files.results)
             for files in AssignmentResults.of(tmp_path / "out", "toy").students()}
    assert sorted(found) == [f"s{i}" for i in range(n)]
    assert {sid: r.score for sid, r in found.items()} == \
        {f"s{i}": 2.0 if i % 2 == 0 else 0.0 for i in range(n)}
    assert len(list(markers.iterdir())) > n  # the killed node's submission ran again
    again = grade_batch(cfg, subs, replace(_options(tmp_path / "out"), regrade=False),
                        backend=RayBackend(cluster.address))
    assert (again.skipped, again.graded) == (n, 0)  # what the driver wrote is up to date


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.sandbox
@pytest.mark.ray
@pytest.mark.slow
def test_ctrl_c_stops_the_clusters_grading_and_prints_the_summary(
        cluster: LocalCluster, tmp_path: Path) -> None:
    config, subs, markers = _toy_course(tmp_path, 4, pause=60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "--config", str(config), "grade", "toy",
         str(subs), "--out", str(tmp_path / "out"), "--backend", "ray", "--address",
         cluster.address], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not any(markers.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        started = [int(p.name.split("-")[1]) for p in markers.iterdir()]
        assert started, "no submission started grading on the cluster"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "INTERRUPTED with" in err and "not graded" in err
    time.sleep(1)
    assert not [pid for pid in started if _running(pid)]  # killed, not left to finish


@pytest.mark.sandbox
@pytest.mark.ray
@pytest.mark.slow
def test_a6_grades_on_a_gpu_when_the_cluster_has_one(
        cluster: LocalCluster, examples: Path, tmp_path: Path) -> None:
    """The CUDA path: a GPU slot, /dev/nvidia* in the sandbox, the checkpoints scored on
    cuda. Only where this machine has a CUDA device (the nodes then advertise it)."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("SKIPPED GPU TEST: no CUDA device on this machine; the Ray backend's "
                    "cuda path was not exercised")
    from grader.grading.backends.ray_cluster import RayBackend

    config = write_config(tmp_path, "a6_mnist", device="cuda", **LIMITS["a6_mnist"])
    cfg = load_config(config).assignment("a6_mnist")
    summary = grade_batch(cfg, examples / "a6_mnist", _options(tmp_path / "out"),
                          backend=RayBackend(cluster.address))
    result = read_result(AssignmentResults.of(tmp_path / "out", "a6_mnist")
                         .student("alice").results)
    assert summary.on_gpu == 1 and result.device == "cuda"
    assert result.score == cfg.points, result.output


# -- without a cluster ----------------------------------------------------------------------------

def test_the_ray_backend_without_ray_says_in_one_line_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ImportError
    (tmp_path / "alice.py").write_text(solution_text("a2_softmax"))
    config = write_config(tmp_path, "a2_softmax")
    code = main(["--config", str(config), "grade", "a2_softmax", str(tmp_path / "alice.py"),
                 "--out", str(tmp_path / "out"), "--backend", "ray"])
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1
    assert "pip install -e '.[ray]'" in err
    assert not (tmp_path / "out" / "a2_softmax").exists()


def test_a_node_without_bubblewrap_records_a_grader_fault_and_runs_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.grading.backends import packing, ray_slot

    monkeypatch.setattr(ray_slot, "node_identity", lambda: ("10.0.0.9/abcd", ()))
    monkeypatch.setattr(ray_slot, "bwrap_path", lambda: None)
    monkeypatch.setattr(ray_slot, "warm_up", lambda cfg: pytest.fail("a faulty node graded"))
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.py").write_text(solution_text("a2_softmax"))
    cfg = load_config(write_config(tmp_path, "a2_softmax")).assignment("a2_softmax")
    entry = plan_batch(tmp_path / "subs", cfg.module, cfg.student_id, None).entries[0]
    slot = ray_slot.GradingSlot(cfg, _options(tmp_path / "out"), "suite",
                                packing.pack_course(cfg))
    try:
        out = slot.grade(entry, pack_submission(entry))
    finally:
        slot.close()
    assert out.result.status == "crashed" and out.result.grader_fault
    assert "10.0.0.9/abcd has no bubblewrap" in out.result.error
    assert "not run unsandboxed" in out.result.error
    assert out.result.tests == [] and out.graded_module is None


def test_a_submission_folder_travels_with_its_names_and_times(tmp_path: Path) -> None:
    folder = tmp_path / "subs" / "alice"
    (folder / "extra").mkdir(parents=True)
    (folder / "mnist_models.py").write_text("x = 1\n")
    (folder / "extra" / "notes.txt").write_text("hi\n")
    os.utime(folder / "mnist_models.py", (1_700_000_000.25, 1_700_000_000.25))
    entry = plan_batch(tmp_path / "subs", "mnist_models", "stem", None).entries[0]
    moved = unpacked_entry(entry, pack_submission(entry), tmp_path / "node")
    staged = moved.source or moved.path
    assert staged.name == (entry.source or entry.path).name and moved.path.name == "alice"
    assert (staged / "extra" / "notes.txt").read_text() == "hi\n"
    assert (staged / "mnist_models.py").stat().st_mtime == 1_700_000_000.25


def _course_with(tmp_path: Path, extra: str) -> Path:
    config = tmp_path / "grader.yaml"
    config.write_text(extra + "assignments:\n  toy:\n    module: toy\n    points: 1\n"
                      "    resources: {cpus: 2, memory_mb: 3000, gpus: 0.5}\n")
    return config


def test_grader_yaml_names_the_backend_and_each_assignments_resources(tmp_path: Path) -> None:
    course = load_config(_course_with(tmp_path, "backend:\n  kind: ray\n"
                                                "  address: 10.1.2.3:6379\n"))
    assert (course.backend.kind, course.backend.address) == ("ray", "10.1.2.3:6379")
    resources = course.assignment("toy").resources
    assert (resources.cpus, resources.memory_mb, resources.gpus) == (2.0, 3000, 0.5)


def test_an_unknown_backend_is_refused_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grader.yaml:2: backend.kind: expected one of "
                       "local, ray, got 'slurm'"):
        load_config(_course_with(tmp_path, "backend:\n  kind: slurm\n"))


def test_a6_reserves_a_gpu_only_where_it_grades_on_cuda() -> None:
    from grader.grading.backends.ray_cluster import slot_gpus

    course = load_config(ROOT / "grader.yaml")
    a6, a2 = course.assignment("a6_mnist"), course.assignment("a2_softmax")
    assert slot_gpus(a6, {"CPU": 8, "GPU": 2}) == 1.0   # device auto, GPUs in the cluster
    assert slot_gpus(a6, {"CPU": 8}) == 0.0             # auto without GPUs: on CPUs
    assert slot_gpus(a2, {"CPU": 8, "GPU": 2}) == 0.0   # numpy only: never a GPU
    cuda = type(a6)(**{**a6.__dict__, "device": "cuda"})
    with pytest.raises(GraderFault, match="device: cuda but the Ray cluster has no GPU"):
        slot_gpus(cuda, {"CPU": 8})


def test_a_sandbox_on_cuda_sees_only_the_gpus_its_slot_was_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.sandbox.bwrap import _worker_env

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # what Ray sets in a slot holding GPU 3
    assert _worker_env("cuda")["CUDA_VISIBLE_DEVICES"] == "3"
    assert _worker_env("cpu")["CUDA_VISIBLE_DEVICES"] == ""
