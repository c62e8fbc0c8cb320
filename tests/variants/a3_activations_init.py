"""Buggy and correct variants of the a3_activations_init reference solution
(solutions/a3_activations_init/activations.py).

Each BUGGY variant is a mistake students really make with activations and initializations; the
hidden suite must take points off and fail at least the tests listed in `fails`. Each CORRECT
variant is a different but equivalent implementation that must keep full marks.
"""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # --- numerical stability ------------------------------------------------------------------
    # The other textbook form: inf / inf = NaN for x = 1000.
    Variant("sigmoid_nan_exp_ratio",
            [Edit("sigmoid_forward",
                  "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
                  "out = np.exp(x) / (1.0 + np.exp(x))")],
            fails=["test_sigmoid_stable_for_large_inputs"]),
    Variant("tanh_exp_quotient",
            [Edit("tanh_forward", "out = np.tanh(x)",
                  "out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))")],
            fails=["test_tanh_stable_for_large_inputs"]),
    # --- derivatives --------------------------------------------------------------------------
    Variant("tanh_derivative_uses_x",
            [Edit("tanh_forward", "cache = out", "cache = x")],
            fails=["test_tanh_backward_matches_autograd", "test_tanh_stable_for_large_inputs",
                   "test_all_layers_batch_of_one_and_3d_input"]),
    Variant("sigmoid_derivative_missing_one_minus",
            [Edit("sigmoid_backward", "dx = dout * out * (1.0 - out)", "dx = dout * out")],
            fails=["test_sigmoid_backward_matches_autograd", "test_sigmoid_stable_for_large_inputs",
                   "test_all_layers_batch_of_one_and_3d_input"]),
    Variant("relu_grad_one_at_zero",
            [Edit("relu_backward", "dx = dout * (x > 0)", "dx = dout * (x >= 0)")],
            fails=["test_relu_backward_matches_autograd_including_kink"]),
    Variant("leaky_relu_grad_one_at_zero",
            [Edit("leaky_relu_backward", "np.where(x > 0, 1.0, negative_slope)",
                  "np.where(x >= 0, 1.0, negative_slope)")],
            fails=["test_leaky_relu_backward_default_slope_including_kink"]),
    # The backward pass hard-codes the default slope.
    Variant("leaky_relu_backward_ignores_slope",
            [Edit("leaky_relu_backward", "np.where(x > 0, 1.0, negative_slope)",
                  "np.where(x > 0, 1.0, 0.01)")],
            fails=["test_leaky_relu_custom_slope", "test_all_layers_batch_of_one_and_3d_input"]),
    Variant("elu_derivative_missing_plus_alpha",
            [Edit("elu_backward", "np.where(x > 0, 1.0, out + alpha)",
                  "np.where(x > 0, 1.0, out)")],
            fails=["test_elu_backward_default_alpha", "test_elu_custom_alpha_including_kink",
                   "test_elu_stable_for_large_inputs",
                   "test_all_layers_batch_of_one_and_3d_input"]),
    # Derivative 1 at the kink: invisible with alpha = 1 (out + alpha = 1 at 0), caught otherwise.
    Variant("elu_grad_one_at_zero",
            [Edit("elu_backward", "np.where(x > 0, 1.0, out + alpha)",
                  "np.where(x >= 0, 1.0, out + alpha)")],
            fails=["test_elu_custom_alpha_including_kink"]),
    # --- in-place modification ----------------------------------------------------------------
    Variant("relu_forward_in_place",
            [Edit("relu_forward", "out = np.maximum(x, 0.0)", "x[x < 0] = 0.0\n    out = x")],
            fails=["test_all_layers_leave_inputs_unchanged"]),
    Variant("relu_backward_modifies_dout",
            [Edit("relu_backward", "dx = dout * (x > 0)", "dout[x <= 0] = 0.0\n    dx = dout")],
            fails=["test_all_layers_leave_inputs_unchanged"]),
    # --- maxout -------------------------------------------------------------------------------
    # Ties: the last maximal piece wins.
    Variant("maxout_ties_to_last_piece",
            [Edit("maxout_forward", "idx = np.argmax(z, axis=0)",
                  "idx = z.shape[0] - 1 - np.argmax(z[::-1], axis=0)")],
            fails=["test_maxout_ties_send_gradient_to_first_piece"]),
    # Ties: every maximal piece gets the full gradient (mask z == max).
    Variant("maxout_ties_to_all_pieces",
            [Replace("maxout_forward", '''
def maxout_forward(x, w, b):
    z = np.einsum("nd,kdm->knm", x, w) + b[:, None, :]
    out = z.max(axis=0)
    cache = (x, w, z == out[None])
    return out, cache
'''), Replace("maxout_backward", '''
def maxout_backward(dout, cache):
    x, w, mask = cache
    dz = mask * dout[None]
    dx = np.einsum("knm,kdm->nd", dz, w)
    dw = np.einsum("nd,knm->kdm", x, dz)
    db = dz.sum(axis=1)
    return dx, dw, db
''')],
            fails=["test_maxout_ties_send_gradient_to_first_piece"]),
    # Ties: the gradient is split evenly (what torch.amax does, not torch.max).
    Variant("maxout_ties_split",
            [Replace("maxout_forward", '''
def maxout_forward(x, w, b):
    z = np.einsum("nd,kdm->knm", x, w) + b[:, None, :]
    out = z.max(axis=0)
    mask = (z == out[None]).astype(float)
    cache = (x, w, mask / mask.sum(axis=0))
    return out, cache
'''), Replace("maxout_backward", '''
def maxout_backward(dout, cache):
    x, w, share = cache
    dz = share * dout[None]
    dx = np.einsum("knm,kdm->nd", dz, w)
    dw = np.einsum("nd,knm->kdm", x, dz)
    db = dz.sum(axis=1)
    return dx, dw, db
''')],
            fails=["test_maxout_ties_send_gradient_to_first_piece"]),
    # db summed over the outputs instead of the batch.
    Variant("maxout_db_wrong_axis",
            [Edit("maxout_backward", "db = dz.sum(axis=1)", "db = dz.sum(axis=2)")],
            fails=["test_maxout_backward_db_matches_autograd",
                   "test_maxout_ties_send_gradient_to_first_piece"]),
    # Forgets the bias of the pieces when choosing the max.
    Variant("maxout_forward_without_bias",
            [Edit("maxout_forward", 'np.einsum("nd,kdm->knm", x, w) + b[:, None, :]',
                  'np.einsum("nd,kdm->knm", x, w)')],
            fails=["test_maxout_forward_matches_torch", "test_maxout_backward_dx_matches_autograd",
                   "test_maxout_backward_dw_matches_autograd",
                   "test_maxout_backward_db_matches_autograd"]),
    # --- initializations ----------------------------------------------------------------------
    # LeCun's variance 1/fan_in instead of Glorot's compromise.
    Variant("xavier_normal_fan_in_only",
            [Edit("xavier_normal", "np.sqrt(2.0 / (fan_in + fan_out))", "np.sqrt(1.0 / fan_in)")],
            fails=["test_xavier_normal_mean_and_variance", "test_xavier_normal_uses_gain"]),
    Variant("xavier_normal_ignores_gain",
            [Edit("xavier_normal", "std = gain * np.sqrt", "std = np.sqrt")],
            fails=["test_xavier_normal_uses_gain"]),
    # Uniform bound set to the std instead of sqrt(3)·std.
    Variant("xavier_uniform_bound_is_std",
            [Edit("xavier_uniform", "np.sqrt(6.0 / (fan_in + fan_out))",
                  "np.sqrt(2.0 / (fan_in + fan_out))")],
            fails=["test_xavier_uniform_bounds", "test_xavier_uniform_variance_with_gain"]),
    # Right variance, wrong distribution.
    Variant("xavier_normal_drawn_uniform",
            [Edit("xavier_normal", "w = rng.normal(0.0, std, size=(fan_in, fan_out))",
                  "w = rng.uniform(-np.sqrt(3) * std, np.sqrt(3) * std, size=(fan_in, fan_out))")],
            fails=["test_normal_inits_are_gaussian"]),
    Variant("he_normal_uses_fan_out",
            [Edit("he_normal", "np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / fan_out)")],
            fails=["test_he_normal_mean_and_variance"]),
    # Forgets ReLU's factor 2: Var(W) = 1/fan_in.
    Variant("he_uniform_missing_factor_two",
            [Edit("he_uniform", "np.sqrt(6.0 / fan_in)", "np.sqrt(3.0 / fan_in)")],
            fails=["test_he_uniform_bounds_and_variance"]),
    # torch's layout (fan_out, fan_in).
    Variant("he_normal_torch_layout",
            [Edit("he_normal", "size=(fan_in, fan_out)", "size=(fan_out, fan_in)")],
            fails=["test_inits_return_fan_in_by_fan_out"]),
    # Global numpy state instead of the rng argument.
    Variant("xavier_normal_global_np_random",
            [Edit("xavier_normal", "w = rng.normal(", "w = np.random.normal(")],
            fails=["test_inits_replay_with_same_seed"]),
    # A private generator with a fixed seed: replays, but ignores the given rng.
    Variant("he_uniform_fixed_seed",
            [Edit("he_uniform", "w = rng.uniform(", "w = np.random.default_rng(0).uniform(")],
            fails=["test_inits_differ_with_different_seeds"]),
    # --- layer_stats --------------------------------------------------------------------------
    Variant("layer_stats_ddof_one",
            [Edit("layer_stats", "float(h.std())", "float(h.std(ddof=1))")],
            fails=["test_layer_stats_tanh_matches_torch", "test_layer_stats_relu_matches_torch",
                   "test_layer_stats_sigmoid_matches_torch",
                   "test_layer_stats_one_pair_per_layer"]),
    # Statistics of the pre-activations h @ W.
    Variant("layer_stats_before_activation",
            [Edit("layer_stats", "h, _ = forwards[activation](h @ w)\n"
                  "        stats.append((float(h.mean()), float(h.std())))",
                  "a = h @ w\n        h, _ = forwards[activation](a)\n"
                  "        stats.append((float(a.mean()), float(a.std())))")],
            fails=["test_layer_stats_tanh_matches_torch", "test_layer_stats_relu_matches_torch",
                   "test_layer_stats_sigmoid_matches_torch",
                   "test_layer_stats_one_pair_per_layer"]),
    # The input counted as a layer: L + 1 pairs.
    Variant("layer_stats_includes_input",
            [Edit("layer_stats", "stats = []", "stats = [(float(x.mean()), float(x.std()))]")],
            fails=["test_layer_stats_tanh_matches_torch", "test_layer_stats_relu_matches_torch",
                   "test_layer_stats_sigmoid_matches_torch",
                   "test_layer_stats_one_pair_per_layer"]),
]

CORRECT = [
    # Numpy overflows, but every value is right (1/(1+inf) = 0, an unselected np.where branch):
    # the suite checks values, never warnings (printed in the worker, unverifiable).
    # The textbook formula.
    Variant("sigmoid_overflow_exp_neg_x",
            [Edit("sigmoid_forward",
                  "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
                  "out = 1.0 / (1.0 + np.exp(-x))")]),
    # np.where evaluates both branches: exp(-x) overflows in the branch it does not select.
    Variant("sigmoid_where_both_branches",
            [Edit("sigmoid_forward",
                  "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
                  "out = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))"
                  )]),
    # exp of the whole input: exp(1000) overflows where elu takes x itself.
    Variant("elu_exp_of_positive_inputs",
            [Edit("elu_forward", "np.expm1(np.minimum(x, 0.0))", "(np.exp(x) - 1.0)")]),
    # Different algebra: sigmoid through tanh (stable: tanh saturates), tanh through the
    # stable sigmoid, derivatives recomputed from x; relu/leaky_relu with arithmetic masks.
    Variant("alternative_algebra", [
        Replace("sigmoid_forward", '''
def sigmoid_forward(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x)), x
'''),
        Replace("sigmoid_backward", '''
def sigmoid_backward(dout, cache):
    t = np.tanh(0.5 * cache)
    return dout * 0.25 * (1.0 - t) * (1.0 + t)
'''),
        Replace("tanh_backward", '''
def tanh_backward(dout, cache):
    return dout * (1.0 - cache) * (1.0 + cache)
'''),
        Replace("relu_forward", '''
def relu_forward(x):
    return x * (x > 0), x
'''),
        Replace("leaky_relu_forward", '''
def leaky_relu_forward(x, negative_slope=0.01):
    return np.maximum(x, negative_slope * x), (x > 0, negative_slope)
'''),
        Replace("leaky_relu_backward", '''
def leaky_relu_backward(dout, cache):
    positive, slope = cache
    return dout * (positive + slope * ~positive)
'''),
        Replace("elu_backward", '''
def elu_backward(dout, cache):
    x, _, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
'''),
        Replace("xavier_uniform", '''
def xavier_uniform(fan_in, fan_out, rng, gain=1.0):
    a = np.sqrt(3.0) * gain * np.sqrt(2.0 / (fan_in + fan_out))
    return a * (2.0 * rng.random((fan_in, fan_out)) - 1.0)
'''),
        Replace("he_normal", '''
def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0) / np.sqrt(fan_in)
'''),
    ]),
    # Boolean-mask assignment and explicit loops instead of vectorized where/einsum.
    Variant("loops_and_masks", [
        Replace("sigmoid_forward", '''
def sigmoid_forward(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out, out
'''),
        Replace("elu_forward", '''
def elu_forward(x, alpha=1.0):
    out = x.copy()
    neg = x <= 0
    out[neg] = alpha * (np.exp(x[neg]) - 1.0)
    return out, (x, out, alpha)
'''),
        Replace("maxout_forward", '''
def maxout_forward(x, w, b):
    out = x @ w[0] + b[0]
    idx = np.zeros(out.shape, dtype=int)
    for k in range(1, w.shape[0]):
        z = x @ w[k] + b[k]
        better = z > out  # strict: on a tie the earlier piece stays
        out = np.where(better, z, out)
        idx[better] = k
    return out, (x, w, idx)
'''),
        Replace("maxout_backward", '''
def maxout_backward(dout, cache):
    x, w, idx = cache
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros((w.shape[0], w.shape[2]))
    for k in range(w.shape[0]):
        dz = np.where(idx == k, dout, 0.0)
        dx += dz @ w[k].T
        dw[k] = x.T @ dz
        db[k] = dz.sum(axis=0)
    return dx, dw, db
'''),
        Replace("he_uniform", '''
def he_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return np.array([[rng.uniform(-a, a) for _ in range(fan_out)] for _ in range(fan_in)])
'''),
        Replace("layer_stats", '''
def layer_stats(x, weights, activation):
    if activation == "tanh":
        f = np.tanh
    elif activation == "relu":
        def f(a):
            return np.maximum(a, 0.0)
    else:
        def f(a):
            return sigmoid_forward(a)[0]
    stats = []
    h = x
    for w in weights:
        h = f(h @ w)
        mu = np.sum(h) / h.size
        stats.append((float(mu), float(np.sqrt(np.sum((h - mu) ** 2) / h.size))))
    return stats
'''),
    ]),
]
