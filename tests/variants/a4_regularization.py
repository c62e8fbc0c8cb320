"""Variants of the a4_regularization solution: realistic bugs (each must lose points and fail at
least the listed tests) and alternative correct implementations (each must get full marks)."""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # ------------------------------------------------------------------ dropout
    Variant("dropout_p_as_keep_probability",
            [Edit("dropout_forward", "keep = rng.random(x.shape) >= p",
                  "keep = rng.random(x.shape) < p")],
            fails=["test_dropout_zero_fraction_matches_p",
                   "test_net_dropout_train_mask_statistics"]),
    # Non-inverted dropout: its backward is the exact gradient of its own forward, and its net
    # uses its own dropout, so the missing 1/(1-p) costs the scaling test's 2 points only.
    Variant("dropout_no_inverted_scaling",
            [Edit("dropout_forward", "mask = keep / (1.0 - p)", "mask = keep * 1.0")],
            fails=["test_dropout_kept_units_scaled_by_inverse_keep_prob"], lost=2),
    Variant("dropout_one_mask_for_the_batch",
            [Edit("dropout_forward", "keep = rng.random(x.shape) >= p",
                  "keep = np.broadcast_to(rng.random(x.shape[1:]) >= p, x.shape)")],
            fails=["test_dropout_mask_independent_per_unit"]),
    Variant("dropout_scales_again_at_test_time",
            [Edit("dropout_forward", "out = x.copy()", "out = x * (1.0 - p)")],
            fails=["test_dropout_test_mode_is_identity", "test_net_dropout_off_in_test_mode"]),
    Variant("dropout_backward_forgets_scaling",
            [Edit("dropout_backward", "dx = dout * mask if", "dx = dout * (mask != 0) if")],
            fails=["test_dropout_backward_uses_forward_mask"]),
    Variant("dropout_default_seed_zero",
            [Edit("dropout_forward", 'dropout_param.get("seed")', 'dropout_param.get("seed", 0)')],
            fails=["test_dropout_without_seed_is_random"]),
    Variant("dropout_modifies_x_in_place",
            [Edit("dropout_forward", "out = x * mask\n", "x *= mask\n        out = x\n")],
            fails=["test_dropout_does_not_modify_inputs"]),
    # ------------------------------------------------------------------ penalties
    Variant("l2_gradient_missing_factor_2",
            [Edit("l2_penalty", "2.0 * reg * w", "reg * w")],
            fails=["test_l2_penalty_matches_autograd"]),
    Variant("l1_sign_one_at_zero",
            [Edit("l1_penalty", "reg * np.sign(w)", "reg * np.where(w >= 0, 1.0, -1.0)")],
            fails=["test_l1_penalty_matches_autograd_with_zeros"]),
    Variant("elastic_net_l2_gradient_halved",
            [Edit("elastic_net_penalty", "2.0 * (1.0 - l1_ratio) * w", "(1.0 - l1_ratio) * w")],
            fails=["test_elastic_net_penalty_matches_autograd"]),
    # ------------------------------------------------------------------ batch norm
    Variant("batchnorm_biased_running_var",
            [Edit("batchnorm_forward", "(1.0 - momentum) * unbiased_var",
                  "(1.0 - momentum) * var")],
            fails=["test_batchnorm_running_var_is_unbiased", "test_batchnorm_defaults"]),
    Variant("batchnorm_momentum_swapped",
            [Edit("batchnorm_forward", "momentum * running_mean + (1.0 - momentum) * mu",
                  "(1.0 - momentum) * running_mean + momentum * mu"),
             Edit("batchnorm_forward", "momentum * running_var + (1.0 - momentum) * unbiased_var",
                  "(1.0 - momentum) * running_var + momentum * unbiased_var")],
            fails=["test_batchnorm_running_mean_after_steps",
                   "test_batchnorm_running_var_is_unbiased", "test_batchnorm_defaults",
                   "test_net_batchnorm_test_mode_uses_running_stats"]),
    Variant("batchnorm_eps_outside_sqrt",
            [Edit("batchnorm_forward", "std = np.sqrt(var + eps)", "std = np.sqrt(var) + eps")],
            fails=["test_batchnorm_defaults"]),
    Variant("batchnorm_test_mode_uses_batch_stats",
            [Edit("batchnorm_forward",
                  "std = np.sqrt(running_var + eps)\n        x_hat = (x - running_mean) / std",
                  "std = np.sqrt(x.var(axis=0) + eps)\n"
                  "        x_hat = (x - x.mean(axis=0)) / std")],
            fails=["test_batchnorm_test_mode_uses_running_stats",
                   "test_net_batchnorm_test_mode_uses_running_stats"]),
    Variant("batchnorm_backward_missing_variance_term",
            [Edit("batchnorm_backward", " - x_hat * (dx_hat * x_hat).mean(axis=0)", "")],
            fails=["test_batchnorm_backward_dx_matches_autograd", "test_net_batchnorm_grads"]),
    Variant("batchnorm_backward_missing_mean_term",
            [Edit("batchnorm_backward", "dx_hat - dx_hat.mean(axis=0) - x_hat", "dx_hat - x_hat")],
            fails=["test_batchnorm_backward_dx_matches_autograd", "test_net_batchnorm_grads"]),
    # float32 weights (to "save memory"): only the layout test, which checks the dtype, fails.
    Variant("net_weights_float32",
            [Edit("FullyConnectedNet.__init__",
                  "weight_scale * self._rng.standard_normal((d_in, d_out))",
                  "(weight_scale * self._rng.standard_normal((d_in, d_out))).astype(np.float32)")],
            fails=["test_net_param_keys_shapes_and_dtype"]),
    Variant("batchnorm_centers_x_in_place",
            [Edit("batchnorm_forward", "xc = x - mu", "x -= mu\n        xc = x")],
            fails=["test_batchnorm_does_not_modify_inputs"]),
    # ------------------------------------------------------------------ early stopping
    Variant("early_stopping_less_or_equal",
            [Edit("EarlyStopping.step", "val_loss < self.best - self.min_delta",
                  "val_loss <= self.best - self.min_delta")],
            fails=["test_early_stopping_equal_loss_is_not_improvement",
                   "test_early_stopping_min_delta"]),
    Variant("early_stopping_off_by_one",
            [Edit("EarlyStopping.step", "return self.num_bad >= self.patience",
                  "return self.num_bad > self.patience")],
            fails=["test_early_stopping_stops_after_patience_bad_calls"]),
    Variant("early_stopping_counter_not_reset",
            [Edit("EarlyStopping.step", "            self.num_bad = 0\n", "")],
            fails=["test_early_stopping_counter_resets_on_improvement"]),
    Variant("early_stopping_best_step_one_based",
            [Edit("EarlyStopping.step", "self.best_step = self.num_steps",
                  "self.best_step = self.num_steps + 1")],
            fails=["test_early_stopping_best_and_best_step"]),
    # ------------------------------------------------------------------ network
    Variant("net_reg_on_all_params",
            [Edit("FullyConnectedNet.loss",
                  'weights = [self.params[f"W{i}"] for i in range(1, L + 1)]',
                  "weights = list(self.params.values())"),
             Edit("FullyConnectedNet.loss",
                  'for i in range(1, L + 1):\n'
                  '            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]',
                  "for k in grads:\n"
                  "            grads[k] = grads[k] + self.reg * self.params[k]")],
            fails=["test_net_loss_includes_half_l2_on_weights", "test_net_grads_with_reg",
                   "test_net_batchnorm_loss", "test_net_batchnorm_grads"]),
    Variant("net_reg_loss_missing_half",
            [Edit("FullyConnectedNet.loss", "0.5 * self.reg * sum", "self.reg * sum")],
            fails=["test_net_loss_includes_half_l2_on_weights", "test_net_batchnorm_loss"]),
    Variant("net_batchnorm_always_train_mode",
            [Edit("FullyConnectedNet.loss", 'bn_param["mode"] = mode',
                  'bn_param["mode"] = "train"')],
            fails=["test_net_batchnorm_test_mode_uses_running_stats"]),
    Variant("net_dropout_in_test_mode",
            [Edit("FullyConnectedNet.loss", '"mode": mode,', '"mode": "train",')],
            fails=["test_net_dropout_off_in_test_mode"]),
]


CORRECT = [
    # The textbook staged backward pass through x -> mu -> xc -> var -> std -> x_hat -> out.
    Variant("batchnorm_backward_staged", [Replace("batchnorm_backward", '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, std = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    if mode != "train":
        return dx_hat / std, dgamma, dbeta
    n = dout.shape[0]
    xc = x_hat * std
    inv_std = 1.0 / std
    # x_hat = xc * inv_std
    dxc = dx_hat * inv_std
    dinv_std = np.sum(dx_hat * xc, axis=0)
    # inv_std = 1 / std, std = sqrt(var + eps)
    dstd = -dinv_std / std**2
    dvar = dstd * 0.5 / std
    # var = mean(xc ** 2)
    dxc += 2.0 * xc * dvar / n
    # xc = x - mu, mu = mean(x)
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta
''')]),
    # Explicit loops and masks instead of vectorized sign().
    Variant("penalties_with_loops", [
        Replace("l2_penalty", '''
def l2_penalty(weights, reg):
    loss = 0.0
    grads = []
    for w in weights:
        loss += reg * np.sum(w ** 2)
        grads.append(w * (2 * reg))
    return loss, grads
'''),
        Replace("l1_penalty", '''
def l1_penalty(weights, reg):
    loss = 0.0
    grads = []
    for w in weights:
        loss += reg * np.abs(w).sum()
        g = np.zeros_like(w)
        g[w > 0] = reg
        g[w < 0] = -reg
        grads.append(g)
    return loss, grads
'''),
        Replace("elastic_net_penalty", '''
def elastic_net_penalty(weights, reg, l1_ratio):
    l1, g1 = l1_penalty(weights, reg * l1_ratio)
    l2, g2 = l2_penalty(weights, reg * (1 - l1_ratio))
    return l1 + l2, [a + b for a, b in zip(g1, g2)]
'''),
    ]),
    # Binomial mask kept unscaled, the scaling applied in both passes.
    Variant("dropout_binomial_mask", [
        Replace("dropout_forward", '''
def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    if dropout_param["mode"] == "test":
        return x, None
    gen = np.random.default_rng(dropout_param["seed"]) if "seed" in dropout_param \\
        else np.random.default_rng()
    mask = gen.binomial(1, 1 - p, size=x.shape)
    return x * mask / (1 - p), (mask, p)
'''),
        Replace("dropout_backward", '''
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    mask, p = cache
    return dout * mask / (1 - p)
'''),
    ]),
    # np.var with ddof for the two variances; new dict entries instead of locals.
    Variant("batchnorm_forward_np_var", [Replace("batchnorm_forward", '''
def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    m = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    bn_param.setdefault("running_mean", np.zeros(d))
    bn_param.setdefault("running_var", np.ones(d))
    if bn_param["mode"] == "train":
        mean, var = np.mean(x, axis=0), np.var(x, axis=0)
        bn_param["running_mean"] = m * bn_param["running_mean"] + (1 - m) * mean
        bn_param["running_var"] = (m * bn_param["running_var"]
                                   + (1 - m) * np.var(x, axis=0, ddof=1))
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    return gamma * x_hat + beta, (bn_param["mode"], x_hat, gamma, std)
''')]),
    # Keeps the whole history and decides from it.
    Variant("early_stopping_from_history", [Replace("EarlyStopping", '''
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.history = []
        self.best = None
        self.best_step = None

    def step(self, val_loss):
        self.history.append(val_loss)
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.best_step = len(self.history) - 1
        return len(self.history) - 1 - self.best_step >= self.patience
''')]),
    # Running statistics created up front in the network instead of lazily by batch norm.
    Variant("net_running_stats_in_init", [
        Edit("FullyConnectedNet.__init__", "[{} for _ in range(self.num_layers - 1)]",
             '[{"mode": "train", "momentum": 0.9, "running_mean": np.zeros(h),'
             ' "running_var": np.ones(h)} for h in hidden_dims]'),
    ]),
]
