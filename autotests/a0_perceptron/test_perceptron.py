"""Hidden tests for a0_perceptron, against torch references in float64.

perceptron_train's visiting order is fixed by the contract (default_rng(seed), one
permutation per epoch), so its results are compared exactly with the same loop in torch, on
small-integer inputs and power-of-2 learning rates where every product and sum is exact.
step(0) is charged once, in its own test: the training tests also accept the reference loop
run with the student's own step(0) (many perceptrons fire at z >= 0), so that one tie rule
does not cost every trajectory test again.
"""

import numpy as np
import pytest
import torch

from grader.testing import assert_close, assert_inputs_unchanged, assert_true

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])
GATES = {"AND": [0.0, 0.0, 0.0, 1.0], "OR": [0.0, 1.0, 1.0, 1.0], "NAND": [1.0, 1.0, 1.0, 0.0]}
LECTURE_XOR = {"W1": np.array([[5.0, -7.0], [5.0, -7.0]]), "b1": np.array([-8.0, 3.0]),
               "w2": np.array([-11.0, -11.0]), "b2": 6.0}


def heaviside(z) -> np.ndarray:
    z = torch.as_tensor(np.asarray(z, dtype=np.float64))
    return torch.heaviside(z, torch.tensor(0.0, dtype=torch.float64)).numpy()


def reference_train(X, y, lr, epochs, seed, tie=0.0, *, one_order=False):
    """The contract's loop in torch: w, b, converged, history. ``tie`` is step(0) (0 in the
    contract); ``one_order`` replays the first epoch's order every epoch (a slip the data
    must expose)."""
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64)
    b = torch.tensor(0.0, dtype=torch.float64)
    zero = torch.tensor(tie, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        mistakes = 0
        if one_order:
            rng = np.random.default_rng(seed)
        for i in rng.permutation(len(X)):
            err = yt[i] - torch.heaviside(Xt[i] @ w + b, zero)
            mistakes += int(err != 0)
            w = w + lr * err * Xt[i]
            b = b + lr * err
        history.append(mistakes)
        if mistakes == 0:
            return w.numpy(), float(b), True, history
    return w.numpy(), float(b), False, history


def separable_data(rng, n, d):
    """Small-integer X and labels from an integer separator: z == 0 happens during training."""
    X = rng.integers(-3, 4, (n, d)).astype(np.float64)
    w_star = rng.integers(-3, 4, d).astype(np.float64)
    w_star[0] = rng.choice([-2.0, 2.0])
    y = (X @ w_star + rng.integers(-2, 3) > 0).astype(np.float64)
    return X, y


def _lr(rng) -> float:
    # never 1: from w = 0, b = 0 a forgotten lr changes w and b only when lr != 1
    return float(rng.choice([0.25, 0.5, 2.0]))


def _seed(rng) -> int:
    return int(rng.integers(2**31))


def student_tie(student) -> float:
    """The student's own step(0), read on this side; 0 (the contract's) if it is no number.
    Its value is charged once, by test_step_of_zero_is_zero."""
    try:
        value = float(np.asarray(student.step(np.zeros(1)), dtype=np.float64).ravel()[0])
    except Exception:  # any failure here is charged by the step tests
        return 0.0
    return value if np.isfinite(value) else 0.0


def tie_rules(student) -> list[float]:
    """step(0) values a trajectory may follow: the contract's, then the student's own."""
    tie = student_tie(student)
    return [0.0] if tie == 0.0 else [0.0, tie]


def _matches(result, reference) -> bool:
    w, b, converged, history = result
    w_ref, b_ref, conv_ref, hist_ref = reference
    try:
        return ([int(h) for h in history] == hist_ref and bool(converged) == conv_ref
                and np.array_equal(np.asarray(w, dtype=np.float64), w_ref)
                and float(b) == b_ref)
    except (TypeError, ValueError):
        return False


def check_train(student, X, y, lr, epochs, seed):
    inputs = {"X": X, "y": y}
    call = f"perceptron_train(X, y, lr={lr}, epochs={epochs}, seed={seed})"
    result = student.perceptron_train(X, y, lr=lr, epochs=epochs, seed=seed)
    references = [reference_train(X.copy(), y.copy(), lr, epochs, seed, tie)
                  for tie in tie_rules(student)]
    # the contract's run, unless the student's own step(0) explains the result exactly
    w_ref, b_ref, conv_ref, hist_ref = next((r for r in references if _matches(result, r)),
                                            references[0])
    w, b, converged, history = result
    history = [int(h) for h in history]
    k = _first_diff(history, hist_ref)
    assert_true(history == hist_ref,
                f"{call}: mistakes per epoch differ from the reference's from epoch {k} on "
                f"(got {history[k:k + 1]}, expected {hist_ref[k:k + 1]}; you ran "
                f"{len(history)} epochs, the reference {len(hist_ref)}). Visit the samples in "
                "the order rng.permutation(N), one permutation per epoch, and stop after the "
                "first epoch without a mistake")
    assert_close(w, w_ref, fn="perceptron_train", what="w", inputs=inputs, rtol=0, atol=0)
    assert_close(b, b_ref, fn="perceptron_train", what="b", inputs=inputs, rtol=0, atol=0)
    assert_true(bool(converged) == conv_ref,
                f"{call}: converged = {converged!r}, expected {conv_ref}")


def _first_diff(a, b) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (u, v) in pairs if u != v), min(len(a), len(b)))


# ----------------------------------------------------------------------------- step


@pytest.mark.points(2)
def test_step_matches_heaviside(student, rng):
    """step: 1 where z > 0, 0 where z < 0, any shape"""
    for shape in [(int(rng.integers(1, 20)),), (3, 4, 5)]:
        z = rng.standard_normal(shape)
        z[np.abs(z) < 1e-3] = 0.5  # no exact zeros: step(0) is its own test
        expected = heaviside(z)
        assert_close(student.step(z), expected, fn="step", inputs={"z": z}, rtol=0, atol=0)


@pytest.mark.points(1)
def test_step_of_zero_is_zero(student, rng):
    """step: step(0) = 0 (the unit fires only when w·x + b > 0)"""
    z = rng.choice([-1.0, 0.0, 1.0], (4, 6))
    z[0, :3] = 0.0
    expected = heaviside(z)
    assert_close(student.step(z), expected, fn="step",
                 what="output (with z == 0; step(0) must be 0: the unit fires only when "
                      "w·x + b > 0, so compare with z > 0, not z >= 0. Only this test checks "
                      "step(0): the training tests follow your own step(0))",
                 inputs={"z": z}, rtol=0, atol=0)


@pytest.mark.points(1)
def test_step_of_integer_array(student, rng):
    """step: works on integer arrays too (values 0/1, same shape)"""
    z = rng.integers(1, 6, (5, 7)) * rng.choice([-1, 1], (5, 7))  # no zeros: own test
    expected = heaviside(z)
    assert_close(student.step(z), expected, fn="step", inputs={"z": z}, rtol=0, atol=0)


# ----------------------------------------------------------------------------- gates


@pytest.mark.points(1)
@pytest.mark.parametrize("gate", sorted(GATES))
def test_gate_weights_compute_the_truth_table(student, gate):
    """gate_weights: step(x @ w + b) is the gate's truth table on {0, 1}^2"""
    w, b = student.gate_weights(gate)
    w = np.asarray(w, dtype=np.float64)
    assert_true(w.shape == (2,), f"gate_weights({gate!r}) returned w of shape {w.shape}, "
                                 "expected (2,)")
    got = heaviside(XOR_X @ w + float(b))
    assert_true(np.array_equal(got, GATES[gate]),
                f"gate_weights({gate!r}): step(x @ w + b) on x = (0,0), (0,1), (1,0), (1,1) "
                f"gives {got.tolist()}, the {gate} truth table is {GATES[gate]}")


@pytest.mark.points(2)
def test_gate_output_matches_reference(student, rng):
    """gate_output: step(x @ w + b) for random x, w, b"""
    for _ in range(100):  # until the bias matters: x @ w + b, x @ w - b and x @ w disagree
        n, d = int(rng.integers(8, 30)), int(rng.integers(1, 6))
        x, w = rng.standard_normal((n, d)), rng.standard_normal(d)
        b = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.5))
        expected = heaviside(x @ w + b)
        if all(np.any(heaviside(x @ w + other) != expected) for other in (-b, 0.0)):
            break
    assert_close(student.gate_output(x, w, b), expected, fn="gate_output",
                 inputs={"x": x, "w": w}, rtol=0, atol=0)


# ----------------------------------------------------------------------------- training


@pytest.mark.points(5)
def test_perceptron_train_matches_reference_on_separable_data(student, rng):
    """perceptron_train: w, b, converged and history equal the reference loop's exactly"""
    for _ in range(3):
        for _ in range(100):  # data that trains long enough for the epochs' orders to matter
            X, y = separable_data(rng, int(rng.integers(5, 40)), int(rng.integers(1, 5)))
            lr, seed = _lr(rng), _seed(rng)
            runs = [reference_train(X, y, lr, 200, seed, one_order=o)[3] for o in (False, True)]
            if runs[0] != runs[1]:
                break
        check_train(student, X, y, lr, 200, seed)


@pytest.mark.points(3)
def test_perceptron_train_on_binary_inputs_with_ties(student, rng):
    """perceptron_train: 0/1 inputs (the gates) where z == 0 happens often: exact match"""
    for gate in ("AND", "OR", "NAND"):
        X = np.tile(XOR_X, (int(rng.integers(1, 4)), 1))
        y = np.tile(GATES[gate], len(X) // 4)
        check_train(student, X, y, _lr(rng), 50, _seed(rng))


@pytest.mark.points(2)
def test_perceptron_train_does_not_converge_on_xor(student, rng):
    """perceptron_train on XOR: runs all epochs, converged False, exact w, b, history"""
    check_train(student, XOR_X.copy(), XOR_Y.copy(), _lr(rng), int(rng.integers(3, 15)),
                _seed(rng))


@pytest.mark.points(2)
def test_perceptron_train_stops_after_first_clean_epoch(student, rng):
    """perceptron_train: stops after the first epoch without mistakes (history ends with 0)"""
    X, y = separable_data(rng, 30, 2)
    seed, lr = _seed(rng), _lr(rng)
    _, _, converged, history = student.perceptron_train(X, y, lr=lr, epochs=500, seed=seed)
    lengths = [len(reference_train(X, y, lr, 500, seed, tie)[3]) for tie in tie_rules(student)]
    assert_true(len(history) in lengths and bool(converged),
                f"perceptron_train(X: (30, 2), lr={lr}, epochs=500, seed={seed}) ran "
                f"{len(history)} epochs (converged={converged!r}); the reference converged "
                f"after {lengths[0]} epochs, the last one without mistakes")


@pytest.mark.points(1)
def test_perceptron_train_converged_on_the_last_allowed_epoch(student, rng):
    """perceptron_train: a clean epoch number `epochs` still counts as converged"""
    tie = tie_rules(student)[-1]  # the run the student's own step(0) gives
    for _ in range(20):  # find data that needs at least 2 epochs
        X, y = separable_data(rng, 20, 2)
        seed, lr = _seed(rng), _lr(rng)
        _, _, _, hist_ref = reference_train(X, y, lr, 500, seed, tie)
        if len(hist_ref) >= 2:
            break
    check_train(student, X, y, lr, len(hist_ref), seed)


@pytest.mark.points(1)
def test_perceptron_train_return_types(student, rng):
    """perceptron_train: w (D,) float64, b a float, converged a bool, history a list of ints"""
    X, y = separable_data(rng, 10, 3)
    w, b, converged, history = student.perceptron_train(X, y, lr=1.0, epochs=5, seed=0)
    assert_true(isinstance(w, np.ndarray) and w.shape == (3,) and w.dtype == np.float64,
                f"perceptron_train(X: (10, 3)): w should be a (3,) float64 array, got "
                f"{getattr(w, 'shape', type(w).__name__)} {getattr(w, 'dtype', '')}")
    assert_true(isinstance(b, float), f"perceptron_train: b should be a float, got "
                                      f"{type(b).__name__}")
    assert_true(isinstance(converged, (bool, np.bool_)),
                f"perceptron_train: converged should be a bool, got {type(converged).__name__}")
    assert_true(isinstance(history, list)
                and all(isinstance(h, (int, np.integer)) for h in history),
                "perceptron_train: history should be a list of ints (mistakes per epoch)")


# ----------------------------------------------------------------------------- XOR


@pytest.mark.points(3)
def test_xor_two_layer_computes_xor(student):
    """xor_two_layer: W1 (2, H), b1 (H,), w2 (H,), b2, and the network computes XOR"""
    params = student.xor_two_layer()
    assert_true(isinstance(params, dict) and {"W1", "b1", "w2", "b2"} <= set(params),
                "xor_two_layer must return a dict with keys W1, b1, w2, b2")
    W1, b1, w2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "w2"))
    h_units = W1.shape[1] if W1.ndim == 2 else 0
    assert_true(W1.ndim == 2 and W1.shape[0] == 2 and h_units >= 2 and b1.shape == (h_units,)
                and w2.shape == (h_units,) and np.size(params["b2"]) == 1,
                f"xor_two_layer: shapes W1 {W1.shape}, b1 {b1.shape}, w2 {w2.shape}; expected "
                "W1 (2, H), b1 (H,), w2 (H,), b2 a number, H >= 2")
    out = heaviside(heaviside(XOR_X @ W1 + b1) @ w2 + float(params["b2"]))
    assert_true(np.array_equal(out, XOR_Y),
                f"xor_two_layer: the network outputs {out.tolist()} on (0,0), (0,1), (1,0), "
                f"(1,1); XOR is {XOR_Y.tolist()}")


def reference_xor_forward(X, params):
    zero = torch.tensor(0.0, dtype=torch.float64)
    W1, b1, w2 = (torch.tensor(np.asarray(params[k], dtype=np.float64))
                  for k in ("W1", "b1", "w2"))
    h = torch.heaviside(torch.tensor(X) @ W1 + b1, zero)
    return torch.heaviside(h @ w2 + float(params["b2"]), zero)


@pytest.mark.points(1)
def test_xor_forward_with_lecture_weights(student):
    """xor_forward: the lecture's weights compute XOR"""
    expected = reference_xor_forward(XOR_X, LECTURE_XOR)
    params = {k: np.copy(v) for k, v in LECTURE_XOR.items()}  # the module's constants stay put
    assert_close(student.xor_forward(XOR_X.copy(), params), expected, fn="xor_forward",
                 inputs={"X": XOR_X, "W1": LECTURE_XOR["W1"]}, rtol=0, atol=0)


def _wrong_hidden_layers(X, params) -> list[np.ndarray]:
    """Outputs of the networks a slip computes: another hidden activation, no output bias."""
    z = X @ params["W1"] + params["b1"]
    hidden = [1 / (1 + np.exp(-z)), z, np.tanh(z), np.maximum(z, 0)]
    outs = [(h @ params["w2"] + params["b2"] > 0) * 1.0 for h in hidden]
    return [*outs, (heaviside(z) @ params["w2"] > 0) * 1.0]


def _telling_params(rng):
    """X and params where the hidden pre-activations are near 0 (there a sigmoid, linear or
    relu hidden layer is far from a step) and the output is not constant, redrawn until every
    wrong network in _wrong_hidden_layers differs from the reference on some input."""
    for _ in range(200):
        n, h = int(rng.integers(8, 40)), int(rng.integers(2, 7))
        X = rng.standard_normal((n, 2))
        scale = float(rng.choice([0.01, 0.05, 0.2]))
        params = {"W1": scale * rng.standard_normal((2, h)),
                  "b1": scale * rng.standard_normal(h),
                  "w2": rng.standard_normal(h), "b2": float(rng.standard_normal())}
        expected = reference_xor_forward(X, params).numpy()
        z_out = heaviside(X @ params["W1"] + params["b1"]) @ params["w2"] + params["b2"]
        if np.min(np.abs(z_out)) > 1e-6 and all(
                np.any(wrong != expected) for wrong in _wrong_hidden_layers(X, params)):
            return X, params, expected
    raise AssertionError("no telling parameters found in 200 draws (a grader fault)")


@pytest.mark.points(2)
def test_xor_forward_matches_reference_for_random_params(student, rng):
    """xor_forward: any W1 (2, H), b1, w2, b2 on random inputs (hidden pre-activations near 0,
    so a hidden layer that is not a step shows)"""
    X, params, expected = _telling_params(rng)
    assert_close(student.xor_forward(X, params), expected, fn="xor_forward",
                 what="output (h = step(X @ W1 + b1), out = step(h @ w2 + b2); here X @ W1 + "
                      "b1 is near 0, where only a step hidden layer gives 0/1 values)",
                 inputs={"X": X, "W1": params["W1"]}, rtol=0, atol=0)


# ----------------------------------------------------------------------------- inputs


@pytest.mark.points(1)
def test_functions_do_not_modify_inputs(student, rng):
    """step, gate_output, perceptron_train, xor_forward leave their arrays unchanged"""
    z = rng.standard_normal((4, 5))
    student.step(z)
    assert_inputs_unchanged(student, fn="step", inputs={"z": z})
    x, w = rng.standard_normal((6, 3)), rng.standard_normal(3)
    student.gate_output(x, w, 0.5)
    assert_inputs_unchanged(student, fn="gate_output", inputs={"x": x, "w": w})
    X, y = separable_data(rng, 12, 2)
    while y.min() == y.max():  # both classes: training makes mistakes, so updates happen
        X, y = separable_data(rng, 12, 2)
    student.perceptron_train(X, y, lr=0.5, epochs=10, seed=1)  # lr != 1: x * lr * error != x
    assert_inputs_unchanged(student, fn="perceptron_train", inputs={"X": X, "y": y})
    params = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in LECTURE_XOR.items()}
    student.xor_forward(XOR_X.copy(), params)
    assert_inputs_unchanged(student, fn="xor_forward", inputs={"X": XOR_X, "params": params})
