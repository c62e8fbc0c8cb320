"""Hidden tests: mixup (Zhang et al.; torchvision.transforms.v2.MixUp's formula).

The permutation is recovered from the output: for the returned lam, row i of x_mix must be
lam·x[i] + (1 - lam)·x[j] for exactly one j. lam's law is checked with a two-sample
Kolmogorov-Smirnov test against a large Beta(alpha, alpha) sample, and the permutation's law by
counting the 6 permutations of 3 examples over many calls (each call gets copies of the test's
arrays, so the recovery always sees the original inputs); every critical value is set for a
false-alarm rate of about 1e-6. Each call gets a Generator of its own, seeded from the test's
``rng``: a Generator sent to student code comes back in whatever state the student chooses
(docs/SECURITY.md), so the suite never draws its own randomness from one it has sent."""

import itertools
import math

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_true, to_torch

KS_ALPHA = 1e-6
SIGMAS = 6.0


def _seed(rng) -> int:
    return int(rng.integers(2**31))


def _onehot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, n)]


def _recover_perm(x, x_mix, lam) -> np.ndarray:
    """perm[i] = the j for which lam·x[i] + (1 - lam)·x[j] is closest to x_mix[i]."""
    flat, mixed = x.reshape(len(x), -1), np.asarray(x_mix).reshape(len(x), -1)
    resid = mixed[:, None, :] - lam * flat[:, None, :] - (1 - lam) * flat[None, :, :]
    return np.argmin(np.abs(resid).max(axis=2), axis=1)


def _mix(student, x, y, alpha, seed):
    """Call mixup; check lam is one number in [0, 1]; return x_mix, y_mix, lam, perm."""
    x_mix, y_mix, lam = student.mixup(x.copy(), y.copy(), alpha, np.random.default_rng(seed))
    call = f"mixup(x: {x.shape}, y_onehot: {y.shape}, alpha={alpha}, rng)"
    assert_true(np.size(lam) == 1, f"{call}: lam should be one number for the whole batch, "
                                   f"got shape {np.shape(lam)}")
    lam = float(np.asarray(lam).ravel()[0])
    assert_true(0.0 <= lam <= 1.0, f"{call}: lam = {lam} is not in [0, 1]")
    assert_true(np.shape(x_mix) == x.shape, f"{call}: x_mix has shape {np.shape(x_mix)}, "
                                            f"expected {x.shape}")
    return x_mix, y_mix, lam, _recover_perm(x, x_mix, lam)


@pytest.mark.points(3)
def test_mixup_inputs_are_convex_combinations_with_a_permutation(student, rng):
    """mixup: x_mix = lam·x + (1 - lam)·x[perm] with one lam and a permutation perm"""
    n = int(rng.integers(4, 20))
    x, y = rng.standard_normal((n, 2, 3, 3)), _onehot(rng, n, 5)
    x_mix, _, lam, perm = _mix(student, x, y, float(rng.choice([0.4, 1.0, 2.0])), _seed(rng))
    assert_true(sorted(perm.tolist()) == list(range(n)),
                f"mixup(x: {x.shape}, ...): the partners x[perm] are not a permutation of the "
                f"batch (partner counts {np.bincount(perm, minlength=n).tolist()}); draw perm "
                "with rng.permutation(N), not N independent indices")
    xt = to_torch(x)
    expected = lam * xt + (1 - lam) * xt[torch.as_tensor(perm)]
    assert_close(x_mix, expected, fn="mixup", what="x_mix", inputs={"x": x, "y_onehot": y})


@pytest.mark.points(2)
def test_mixup_labels_use_the_same_permutation(student, rng):
    """mixup: y_mix = lam·y + (1 - lam)·y[perm] with the same lam and perm as x_mix"""
    n, k = int(rng.integers(6, 20)), int(rng.integers(3, 10))
    x, y = rng.standard_normal((n, 4)), _onehot(rng, n, k)
    _, y_mix, lam, perm = _mix(student, x, y, 1.0, _seed(rng))
    yt = to_torch(y)
    expected = lam * yt + (1 - lam) * yt[torch.as_tensor(perm)]
    assert_close(y_mix, expected, fn="mixup", what="y_mix (with x_mix's lam and perm)",
                 inputs={"x": x, "y_onehot": y})


def _ks_two_sample(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """KS distance between two samples and its critical value at KS_ALPHA (asymptotic)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    d = float(np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a)
                            - np.searchsorted(b, grid, side="right") / len(b))))
    c = math.sqrt(-math.log(KS_ALPHA / 2) / 2)
    return d, c * math.sqrt((len(a) + len(b)) / (len(a) * len(b)))


@pytest.mark.points(1)
@pytest.mark.parametrize("alpha", [0.2, 4.0])
def test_mixup_lam_follows_beta_alpha_alpha(student, rng, alpha):
    """mixup: lam ~ Beta(alpha, alpha), one draw per call"""
    # 600 calls: critical distance 0.11, while Uniform(0, 1) is 0.18 from Beta(4, 4)
    calls = 600
    lams = np.empty(calls)
    x, y = rng.standard_normal((2, 1)), np.eye(2)
    for i in range(calls):
        gen = np.random.default_rng(_seed(rng))  # the suite's own rng never leaves it
        lams[i] = float(np.asarray(student.mixup(x.copy(), y.copy(), alpha, gen)[2]).ravel()[0])
    # the law itself, sampled by torch (seeded from rng, so the run replays)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed(rng))
        a = torch.tensor(alpha, dtype=torch.float64)
        reference = torch.distributions.Beta(a, a).sample((100_000,)).numpy()
    d, crit = _ks_two_sample(lams, reference)
    assert_true(d <= crit,
                f"mixup(alpha={alpha}): over {calls} calls, lam is not Beta({alpha}, {alpha}) "
                f"distributed: Kolmogorov-Smirnov distance {d:.3f} > {crit:.3f}; median lam "
                f"{np.median(lams):.3f}, mean |lam - 0.5| {np.mean(np.abs(lams - 0.5)):.3f} "
                f"(expected about {np.mean(np.abs(reference - 0.5)):.3f})")


@pytest.mark.points(2)
def test_mixup_permutation_uniform_including_fixed_points(student, rng):
    """mixup: all N! permutations equally likely, pairing an example with itself included"""
    calls = 300
    x, y = np.array([[1.0], [10.0], [100.0]]), np.eye(3)
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(calls):
        x_mix, _, lam = student.mixup(x.copy(), y.copy(), 1.0, np.random.default_rng(_seed(rng)))
        lam = float(np.asarray(lam).ravel()[0])
        if abs(lam - 1.0) < 1e-9:  # lam = 1 hides the partner; probability ~0 for alpha = 1
            continue
        perm = tuple(_recover_perm(x, x_mix, lam).tolist())
        counts[perm] = counts.get(perm, 0) + 1
    n = sum(counts.values())
    band = SIGMAS * math.sqrt(n * (1 / 6) * (5 / 6))
    not_perms = [p for p in counts if sorted(p) != [0, 1, 2]]
    assert_true(not not_perms,
                f"mixup(x: (3, 1), ...): the partners {not_perms[:1]} of the 3 examples are "
                "not a permutation; draw perm with rng.permutation(N)")
    worst = max(itertools.permutations(range(3)), key=lambda p: abs(counts.get(p, 0) - n / 6))
    got = counts.get(worst, 0)
    assert_true(abs(got - n / 6) <= band,
                f"mixup(x: (3, 1), ...): over {n} calls the partner permutation {worst} came "
                f"up {got} times; each of the 6 permutations of 3 examples should come up about "
                f"{n / 6:.0f} times (+- {band:.0f}), those pairing an example with itself "
                "included: use rng.permutation(N)")


@pytest.mark.points(1)
def test_mixup_replays_with_the_same_generator_state(student, rng):
    """mixup: same rng state -> same lam and mix, another seed -> another"""
    x, y, seed = rng.standard_normal((12, 3)), _onehot(rng, 12, 4), _seed(rng)
    a, b, c = (student.mixup(x.copy(), y.copy(), 1.0, np.random.default_rng(s))
               for s in (seed, seed, seed + 1))
    same = all(np.array_equal(np.asarray(u), np.asarray(v)) for u, v in zip(a, b, strict=True))
    assert_true(same, "mixup: two calls with generators in the same state gave different "
                      "results; draw lam and perm only from rng")
    assert_true(not np.array_equal(np.asarray(a[0]), np.asarray(c[0])),
                "mixup: generators with different seeds gave the same x_mix; draw from rng")
