"""Variants of the a0_perceptron solution: realistic bugs (each must lose points and fail at
least the listed tests) and alternative correct implementations (each must get full marks)."""

from tests.variants.mutate import Edit, Replace, Variant

TRAIN_EXACT = ["test_perceptron_train_matches_reference_on_separable_data",
               "test_perceptron_train_on_binary_inputs_with_ties"]

BUGGY = [
    # ------------------------------------------------------------------ step
    # The tie rule costs its own point only: training follows the student's own step(0).
    Variant("step_fires_at_zero",
            [Edit("step", "np.asarray(z) > 0", "np.asarray(z) >= 0")],
            fails=["test_step_of_zero_is_zero"], lost=1),
    # Raschka-style: a predict that fires at z >= 0, used by step and by training alike.
    Variant("perceptron_predicts_with_greater_equal",
            [Replace("step", '''def step(z):
    return np.where(np.asarray(z) >= 0.0, 1.0, 0.0)
'''),
             Replace("perceptron_train", '''def perceptron_train(X, y, *, lr, epochs, seed):
    rng = np.random.default_rng(seed)
    w_ = np.zeros(1 + X.shape[1])
    history = []
    for _ in range(epochs):
        errors = 0
        for i in rng.permutation(len(X)):
            xi, target = X[i], y[i]
            update = lr * (target - np.where(xi @ w_[1:] + w_[0] >= 0.0, 1, 0))
            w_[1:] = w_[1:] + update * xi
            w_[0] += update
            errors += int(update != 0.0)
        history.append(errors)
        if errors == 0:
            return w_[1:].copy(), float(w_[0]), True, history
    return w_[1:].copy(), float(w_[0]), False, history
''')],
            fails=["test_step_of_zero_is_zero"], lost=1),
    Variant("step_returns_sign",
            [Edit("step", "(np.asarray(z) > 0).astype(np.float64)", "np.sign(z)")],
            fails=["test_step_matches_heaviside", "test_step_of_integer_array"]),
    Variant("step_returns_half_at_zero",
            [Edit("step", "(np.asarray(z) > 0).astype(np.float64)",
                  "np.heaviside(np.asarray(z, dtype=float), 0.5)")],
            fails=["test_step_of_zero_is_zero"], lost=1),
    Variant("step_clips_in_place",
            [Edit("step", "out = (np.asarray(z) > 0).astype(np.float64)",
                  "out = np.asarray(z)\n    out[...] = out > 0")],
            fails=["test_functions_do_not_modify_inputs"]),
    # ------------------------------------------------------------------ gates
    Variant("and_bias_too_small",
            [Edit("gate_weights", '"AND": ([1.0, 1.0], -1.5)', '"AND": ([1.0, 1.0], -0.5)')],
            fails=["test_gate_weights_compute_the_truth_table[AND]"]),
    Variant("or_bias_on_the_boundary",
            [Edit("gate_weights", '"OR": ([1.0, 1.0], -0.5)', '"OR": ([1.0, 1.0], -1.0)')],
            fails=["test_gate_weights_compute_the_truth_table[OR]"]),
    Variant("nand_is_nor",
            [Edit("gate_weights", '"NAND": ([-1.0, -1.0], 1.5)', '"NAND": ([-1.0, -1.0], 0.5)')],
            fails=["test_gate_weights_compute_the_truth_table[NAND]",
                   "test_xor_two_layer_computes_xor"]),
    Variant("gate_output_bias_subtracted",
            [Edit("gate_output", "out = step(x @ w + b)\n", "out = step(x @ w - b)\n")],
            fails=["test_gate_output_matches_reference"]),
    # ------------------------------------------------------------------ training
    Variant("train_error_sign_flipped",
            [Edit("perceptron_train", "error = y[i] - step(X[i] @ w + b)",
                  "error = step(X[i] @ w + b) - y[i]")],
            fails=TRAIN_EXACT),
    Variant("train_bias_never_updated",
            [Edit("perceptron_train", "b = b + float(lr * error)", "pass")],
            fails=TRAIN_EXACT),
    Variant("train_forgets_learning_rate",
            [Edit("perceptron_train", "w = w + lr * error * X[i]", "w = w + error * X[i]"),
             Edit("perceptron_train", "b = b + float(lr * error)", "b = b + float(error)")],
            fails=["test_perceptron_train_matches_reference_on_separable_data"]),
    Variant("train_no_shuffle",
            [Edit("perceptron_train", "for i in rng.permutation(n):", "for i in range(n):")],
            fails=TRAIN_EXACT),
    Variant("train_rng_made_every_epoch",
            [Edit("perceptron_train", "for i in rng.permutation(n):",
                  "for i in np.random.default_rng(seed).permutation(n):")],
            fails=["test_perceptron_train_matches_reference_on_separable_data"]),
    Variant("train_permutes_with_global_state",
            [Edit("perceptron_train", "for i in rng.permutation(n):",
                  "for i in np.random.permutation(n):")],
            fails=TRAIN_EXACT),
    Variant("train_batch_update_per_epoch",
            [Replace("perceptron_train", '''def perceptron_train(X, y, *, lr, epochs, seed):
    rng = np.random.default_rng(seed)
    w, b, converged, history = np.zeros(X.shape[1]), 0.0, False, []
    for _ in range(epochs):
        rng.permutation(len(X))
        error = y - step(X @ w + b)
        history.append(int(np.sum(error != 0)))
        w = w + lr * error @ X
        b = b + float(lr * error.sum())
        if history[-1] == 0:
            converged = True
            break
    return w, b, converged, history
''')],
            fails=TRAIN_EXACT),
    Variant("train_does_not_stop_when_clean",
            [Edit("perceptron_train", "            converged = True\n            break",
                  "            converged = True")],
            fails=["test_perceptron_train_stops_after_first_clean_epoch"]),
    Variant("train_converged_false_on_last_epoch",
            [Replace("perceptron_train", '''def perceptron_train(X, y, *, lr, epochs, seed):
    rng = np.random.default_rng(seed)
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(len(X)):
            error = y[i] - step(X[i] @ w + b)
            if error != 0:
                mistakes += 1
                w = w + lr * error * X[i]
                b = b + float(lr * error)
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, b, len(history) < epochs, history
''')],
            fails=["test_perceptron_train_converged_on_the_last_allowed_epoch"]),
    Variant("train_history_leaves_out_the_clean_epoch",
            [Edit("perceptron_train", "history.append(mistakes)",
                  "if mistakes:\n            history.append(mistakes)")],
            fails=TRAIN_EXACT),
    Variant("train_updates_w_in_place_of_x",
            [Edit("perceptron_train", "w = w + lr * error * X[i]",
                  "X[i] *= lr * error\n                w = w + X[i]")],
            fails=["test_functions_do_not_modify_inputs"]),
    Variant("train_returns_b_as_array",
            [Edit("perceptron_train", "b = b + float(lr * error)",
                  "b = np.array([b + lr * error])")],
            fails=["test_perceptron_train_return_types"]),
    # ------------------------------------------------------------------ XOR
    Variant("xor_forward_linear_hidden_layer",
            [Edit("xor_forward", 'h = step(X @ params["W1"] + params["b1"])',
                  'h = X @ params["W1"] + params["b1"]')],
            fails=["test_xor_forward_matches_reference_for_random_params",
                   "test_xor_forward_with_lecture_weights"]),
    Variant("xor_forward_sigmoid_hidden_layer",
            [Edit("xor_forward", 'h = step(X @ params["W1"] + params["b1"])',
                  'h = 1.0 / (1.0 + np.exp(-(X @ params["W1"] + params["b1"])))')],
            fails=["test_xor_forward_matches_reference_for_random_params"], lost=2),
    Variant("xor_forward_ignores_output_bias",
            [Edit("xor_forward", 'step(h @ params["w2"] + params["b2"])',
                  'step(h @ params["w2"])')],
            fails=["test_xor_forward_with_lecture_weights",
                   "test_xor_forward_matches_reference_for_random_params"]),
    Variant("xor_two_layer_single_hidden_unit",
            [Replace("xor_two_layer", '''def xor_two_layer():
    return {"W1": np.array([[1.0], [1.0]]), "b1": np.array([-0.5]), "w2": np.array([1.0]),
            "b2": -0.5}
''')],
            fails=["test_xor_two_layer_computes_xor"]),
]

CORRECT = [
    Variant("step_with_where_and_lecture_xor",
            [Replace("step", '''def step(z):
    return np.where(np.asarray(z) > 0, 1.0, 0.0)
'''),
             Replace("xor_two_layer", '''def xor_two_layer():
    return {"W1": np.array([[5.0, -7.0], [5.0, -7.0]]), "b1": np.array([-8.0, 3.0]),
            "w2": np.array([-11.0, -11.0]), "b2": 6.0}
''')]),
    Variant("train_with_shuffle_and_prediction_compare",
            [Replace("perceptron_train", '''def perceptron_train(X, y, *, lr, epochs, seed):
    rng = np.random.default_rng(seed)
    w = np.zeros(X.shape[1], dtype=np.float64)
    b = 0.0
    history = []
    for _ in range(epochs):
        order = np.arange(len(X))
        rng.shuffle(order)
        mistakes = 0
        for i in order:
            y_hat = 1.0 if X[i] @ w + b > 0 else 0.0
            if y_hat != y[i]:
                mistakes += 1
                w += lr * (y[i] - y_hat) * X[i]
                b += lr * (y[i] - y_hat)
        history.append(mistakes)
        if not mistakes:
            return w, float(b), True, history
    return w, float(b), False, history
'''),
             Replace("gate_weights", '''def gate_weights(name):
    if name == "AND":
        return np.array([2.0, 2.0]), -3.0
    if name == "OR":
        return np.array([0.7, 0.7]), -0.1
    if name == "NAND":
        return np.array([-0.4, -0.4]), 0.5
    raise ValueError(name)
''')]),
]
