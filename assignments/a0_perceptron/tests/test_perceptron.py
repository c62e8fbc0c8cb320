"""Public tests for perceptron.py: run them with `pytest` while you work.

They check known values and properties (no reference implementation). Passing them is a good
sign, not a guarantee: the hidden tests compare with PyTorch on random inputs.
"""

import numpy as np
import perceptron as pc
import pytest

X_BIN = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TRUTH = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}
XOR = np.array([0.0, 1.0, 1.0, 0.0])


def test_step_values_and_zero():
    z = np.array([[-2.0, 0.0, 3.0], [1e-9, -1e-9, 0.0]])
    np.testing.assert_array_equal(pc.step(z), [[0, 0, 1], [1, 0, 0]])
    assert pc.step(z).shape == z.shape


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND"])
def test_gate_weights_truth_table(gate):
    w, b = pc.gate_weights(gate)
    np.testing.assert_array_equal(pc.gate_output(X_BIN, w, b), TRUTH[gate])


def test_gate_output_shape():
    x = np.random.default_rng(0).standard_normal((7, 3))
    assert pc.gate_output(x, np.ones(3), 0.0).shape == (7,)


def test_train_learns_and():
    X, y = np.tile(X_BIN, (2, 1)), np.array(TRUTH["AND"] * 2, dtype=float)
    w, b, converged, history = pc.perceptron_train(X, y, lr=1.0, epochs=50, seed=0)
    assert converged and history[-1] == 0 and all(h > 0 for h in history[:-1])
    np.testing.assert_array_equal(pc.gate_output(X, w, b), y)
    assert w.shape == (2,) and isinstance(b, float)


def test_first_update_uses_step_of_zero():
    # With w = 0, b = 0 the first visit predicts step(0) = 0: a sample labelled 0 is not a
    # mistake, so one epoch over it changes nothing and training converges at once.
    w, b, converged, history = pc.perceptron_train(np.array([[1.0, 2.0]]), np.array([0.0]),
                                                   lr=1.0, epochs=5, seed=0)
    assert converged and history == [0]
    np.testing.assert_array_equal(w, [0.0, 0.0])
    assert b == 0.0


def test_one_update_by_hand():
    # Label 1, predicted 0: w = lr * x, b = lr after the first epoch; the second is clean.
    w, b, converged, history = pc.perceptron_train(np.array([[1.0, 2.0]]), np.array([1.0]),
                                                   lr=0.5, epochs=5, seed=0)
    np.testing.assert_array_equal(w, [0.5, 1.0])
    assert b == 0.5 and converged and history == [1, 0]


def test_train_on_xor_never_converges():
    _, _, converged, history = pc.perceptron_train(X_BIN, XOR, lr=1.0, epochs=20, seed=1)
    assert not converged and len(history) == 20 and min(history) > 0


def test_same_seed_same_result():
    X, y = np.tile(X_BIN, (3, 1)), np.array(TRUTH["OR"] * 3, dtype=float)
    a = pc.perceptron_train(X, y, lr=1.0, epochs=30, seed=7)
    b = pc.perceptron_train(X, y, lr=1.0, epochs=30, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]


def test_xor_network():
    np.testing.assert_array_equal(pc.xor_forward(X_BIN, pc.xor_two_layer()), XOR)
    lecture = {"W1": np.array([[5.0, -7.0], [5.0, -7.0]]), "b1": np.array([-8.0, 3.0]),
               "w2": np.array([-11.0, -11.0]), "b2": 6.0}
    np.testing.assert_array_equal(pc.xor_forward(X_BIN, lecture), XOR)


def test_inputs_not_modified():
    X, y = np.tile(X_BIN, (2, 1)), np.array(TRUTH["AND"] * 2, dtype=float)
    X0, y0 = X.copy(), y.copy()
    pc.perceptron_train(X, y, lr=1.0, epochs=10, seed=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
