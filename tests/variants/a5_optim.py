"""Buggy and correct variants of the a5_optim reference solution (solutions/a5_optim/optim.py).

Each BUGGY variant is a mistake students really make with optimizers; the hidden suite must
take points off and fail at least the tests listed in `fails`. Each CORRECT variant is a
different but equivalent implementation that must keep full marks.
"""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # --- Adam ---------------------------------------------------------------------------------
    Variant("adam_eps_inside_sqrt",
            [Edit("adam", '(np.sqrt(v_hat) + config["epsilon"])',
                  'np.sqrt(v_hat + config["epsilon"])')],
            fails=["test_adam_epsilon_after_bias_corrected_sqrt"]),
    Variant("adam_no_bias_correction",
            [Edit("adam", "m_hat = m / (1.0 - beta1**t)", "m_hat = m"),
             Edit("adam", "v_hat = v / (1.0 - beta2**t)", "v_hat = v")],
            fails=["test_adam_trajectory_and_moments", "test_adam_preloaded_state",
                   "test_adam_epsilon_after_bias_corrected_sqrt"]),
    # t starts at 1 and is incremented after the step: same first trajectory, but the stored
    # step count is one ahead, so a preloaded t is bias-corrected with the wrong power.
    Variant("adam_t_incremented_after_use",
            [Edit("adam", 't = config.get("t", 0) + 1', 't = config.get("t", 1)'),
             Edit("adam", 'config["t"] = m, v, t', 'config["t"] = m, v, t + 1')],
            fails=["test_adam_trajectory_and_moments", "test_adam_preloaded_state"]),
    # Bias correction with the step count before the increment: 1 - beta**0 = 0 at step one.
    Variant("adam_bias_correction_uses_old_t",
            [Edit("adam", "m_hat = m / (1.0 - beta1**t)", "m_hat = m / (1.0 - beta1 ** (t - 1))"),
             Edit("adam", "v_hat = v / (1.0 - beta2**t)", "v_hat = v / (1.0 - beta2 ** (t - 1))")],
            fails=["test_adam_trajectory_and_moments", "test_adam_preloaded_state"]),
    # The paper's "efficient" form folds the bias correction into the step size, which moves
    # epsilon: it equals eps * sqrt(1 - beta2**t) in torch's formula.
    Variant("adam_eps_hat_formulation",
            [Edit("adam", '''    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])''',
                  '''    lr_t = config["learning_rate"] * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    next_w = w - lr_t * m / (np.sqrt(v) + config["epsilon"])''')],
            fails=["test_adam_epsilon_after_bias_corrected_sqrt"]),
    # Framework code with its own constants: the tests pass other values in config.
    Variant("adam_hard_coded_betas",
            [Edit("adam", 'beta1, beta2 = config["beta1"], config["beta2"]',
                  "beta1, beta2 = 0.9, 0.999")],
            fails=["test_adam_trajectory_and_moments", "test_adam_preloaded_state"]),
    Variant("adam_hard_coded_epsilon",
            [Edit("adam", '(np.sqrt(v_hat) + config["epsilon"])', "(np.sqrt(v_hat) + 1e-8)")],
            fails=["test_adam_epsilon_after_bias_corrected_sqrt"]),
    Variant("rmsprop_hard_coded_epsilon",
            [Edit("rmsprop", '(np.sqrt(cache) + config["epsilon"])', "(np.sqrt(cache) + 1e-8)")],
            fails=["test_rmsprop_epsilon_after_sqrt"]),
    Variant("adam_betas_swapped_in_moments",
            [Edit("adam", "+ (1.0 - beta1) * dw", "+ (1.0 - beta2) * dw"),
             Edit("adam", "+ (1.0 - beta2) * dw * dw", "+ (1.0 - beta1) * dw * dw")],
            fails=["test_adam_trajectory_and_moments", "test_adam_preloaded_state"]),
    # --- momentum -----------------------------------------------------------------------------
    # cs231n's convention v = mu*v - lr*dw; w += v: identical trajectory from zero velocity
    # with a constant rate, but the stored velocity is -lr times torch's buffer.
    Variant("momentum_cs231n_velocity_sign",
            [Edit("sgd_momentum",
                  '    v = config["momentum"] * v + dw\n'
                  '    next_w = w - config["learning_rate"] * v',
                  '    v = config["momentum"] * v - config["learning_rate"] * dw\n'
                  '    next_w = w + v')],
            fails=["test_sgd_momentum_trajectory_and_velocity",
                   "test_sgd_momentum_preloaded_velocity"]),
    # Exponential-moving-average momentum (dampening = momentum): steps shrink by (1 - mu).
    Variant("momentum_ema_dampened",
            [Edit("sgd_momentum", 'v = config["momentum"] * v + dw',
                  'v = config["momentum"] * v + (1.0 - config["momentum"]) * dw')],
            fails=["test_sgd_momentum_trajectory_and_velocity",
                   "test_sgd_momentum_preloaded_velocity"]),
    Variant("nesterov_uses_old_velocity",
            [Edit("nesterov_momentum", '''    v = config["momentum"] * v + dw
    next_w = w - config["learning_rate"] * (dw + config["momentum"] * v)''',
                  '''    next_w = w - config["learning_rate"] * (dw + config["momentum"] * v)
    v = config["momentum"] * v + dw''')],
            fails=["test_nesterov_trajectory_and_velocity", "test_nesterov_preloaded_velocity"]),
    Variant("nesterov_is_plain_momentum",
            [Edit("nesterov_momentum", '(dw + config["momentum"] * v)', "v")],
            fails=["test_nesterov_trajectory_and_velocity", "test_nesterov_preloaded_velocity"]),
    # cs231n's look-ahead form: same trajectory from zero velocity, velocity stored as -lr*buf.
    Variant("nesterov_cs231n_lookahead_form",
            [Edit("nesterov_momentum", '''    v = config["momentum"] * v + dw
    next_w = w - config["learning_rate"] * (dw + config["momentum"] * v)''',
                  '''    v_prev = v
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w - config["momentum"] * v_prev + (1.0 + config["momentum"]) * v''')],
            fails=["test_nesterov_trajectory_and_velocity", "test_nesterov_preloaded_velocity"]),
    # --- AdaGrad / RMSProp --------------------------------------------------------------------
    Variant("adagrad_missing_square",
            [Edit("adagrad", "+ dw * dw", "+ dw")],
            fails=["test_adagrad_trajectory_and_cache", "test_adagrad_preloaded_cache"]),
    Variant("adagrad_eps_inside_sqrt",
            [Edit("adagrad", '(np.sqrt(cache) + config["epsilon"])',
                  'np.sqrt(cache + config["epsilon"])')],
            fails=["test_adagrad_epsilon_after_sqrt"]),
    Variant("rmsprop_decay_swapped",
            [Edit("rmsprop", "cache = rho * config.get(\"cache\", np.zeros_like(w)) + (1.0 - rho)",
                  "cache = (1.0 - rho) * config.get(\"cache\", np.zeros_like(w)) + rho")],
            fails=["test_rmsprop_trajectory_and_cache", "test_rmsprop_preloaded_cache"]),
    Variant("rmsprop_eps_inside_sqrt",
            [Edit("rmsprop", '(np.sqrt(cache) + config["epsilon"])',
                  'np.sqrt(cache + config["epsilon"])')],
            fails=["test_rmsprop_epsilon_after_sqrt"]),
    # --- in-place modification ----------------------------------------------------------------
    Variant("sgd_updates_w_in_place",
            [Edit("sgd", 'next_w = w - config["learning_rate"] * dw',
                  'w -= config["learning_rate"] * dw\n    next_w = w')],
            fails=["test_inputs_not_modified"]),
    Variant("adagrad_squares_dw_in_place",
            [Edit("adagrad", '''    cache = config.get("cache", np.zeros_like(w)) + dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])''',
                  '''    step = config["learning_rate"] * dw
    dw **= 2
    cache = config.get("cache", np.zeros_like(w)) + dw
    next_w = w - step / (np.sqrt(cache) + config["epsilon"])''')],
            fails=["test_inputs_not_modified"]),
    # --- schedules ----------------------------------------------------------------------------
    Variant("step_decay_off_by_one",
            [Edit("step_decay", "t // step_size", "(t + 1) // step_size")],
            fails=["test_step_decay_matches_steplr"]),
    Variant("linear_decay_ends_a_step_late",
            [Edit("linear_decay", "frac = min(t, total_steps) / total_steps",
                  "frac = min(t / (total_steps + 1), 1.0)")],
            fails=["test_linear_decay_matches_linearlr"]),
    Variant("linear_decay_not_clamped",
            [Edit("linear_decay", "frac = min(t, total_steps) / total_steps",
                  "frac = t / total_steps")],
            fails=["test_linear_decay_matches_linearlr"]),
    Variant("inverse_sqrt_of_t",
            [Edit("inverse_sqrt", "np.sqrt(t + 1)", "np.sqrt(max(t, 1))")],
            fails=["test_inverse_sqrt_matches_lambdalr"]),
    Variant("warmup_starts_at_zero",
            [Edit("linear_warmup", "return lr0 * (t + 1) / warmup_steps",
                  "return lr0 * t / warmup_steps")],
            fails=["test_linear_warmup_matches_lambdalr"]),
    # --- random search ------------------------------------------------------------------------
    Variant("log_scale_sampled_uniformly",
            [Edit("sample_param", "return float(np.exp(rng.uniform(np.log(low), np.log(high))))",
                  "return float(rng.uniform(low, high))")],
            fails=["test_log_scale_sampling_is_log_uniform"]),
    Variant("uniform_range_misread_as_width",
            [Edit("sample_param", "return float(rng.uniform(low, high))",
                  "return float(low + rng.random() * high)")],
            fails=["test_uniform_sampling_is_uniform"]),
    Variant("last_choice_never_sampled",
            [Edit("sample_param", "rng.integers(len(spec))", "rng.integers(len(spec) - 1)")],
            fails=["test_choices_sampled_from_list"]),
    # Evaluates a starting point before the loop: n_trials + 1 calls.
    Variant("objective_called_n_plus_one_times",
            [Edit("random_search",
                  '    best_params: dict[str, Any] = {}\n'
                  '    best_value = float("inf")\n',
                  '    best_params = {k: sample_param(s, rng) for k, s in space.items()}\n'
                  '    best_value = float(objective(best_params))\n')],
            fails=["test_calls_objective_exactly_n_trials"]),
    Variant("search_keeps_largest_value",
            [Edit("random_search", "value < best_value", "value > best_value")],
            fails=["test_returns_best_evaluated_params"]),
    # A fresh generator from the same seed in every trial: every trial tries the same params.
    Variant("generator_reseeded_every_trial",
            [Edit("random_search", "params = {name: sample_param(spec, rng)",
                  "params = {name: sample_param(spec, np.random.default_rng(seed))")],
            fails=["test_log_scale_sampling_is_log_uniform", "test_uniform_sampling_is_uniform",
                   "test_choices_sampled_from_list"]),
    Variant("seed_ignored",
            [Edit("random_search", "rng = np.random.default_rng(seed)",
                  "rng = np.random.default_rng()")],
            fails=["test_reproducible_by_seed"]),
]

CORRECT = [
    # torch's own arrangement of the Adam step: lr / bc1 and sqrt(v) / sqrt(bc2) + eps.
    Variant("adam_torch_arrangement",
            [Edit("adam", '''    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])''',
                  '''    step_size = config["learning_rate"] / (1.0 - beta1**t)
    denom = np.sqrt(v) / np.sqrt(1.0 - beta2**t) + config["epsilon"]
    next_w = w - step_size * m / denom''')]),
    # Updates the velocity array held in config in place (config may be updated).
    Variant("momentum_in_place_velocity",
            [Edit("sgd_momentum", '''    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + dw''', '''    v = config.setdefault("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v += dw''')]),
    # Nesterov expanded: dw + mu*(mu*v + dw) = (1 + mu)*dw + mu**2 * v_old.
    Variant("nesterov_expanded_algebra",
            [Edit("nesterov_momentum",
                  '    v = config["momentum"] * v + dw\n'
                  '    next_w = w - config["learning_rate"] * (dw + config["momentum"] * v)',
                  '    mu = config["momentum"]\n'
                  '    next_w = w - config["learning_rate"] * ((1.0 + mu) * dw + mu * mu * v)\n'
                  '    v = mu * v + dw')]),
    # Element by element, as a loop over flat indices.
    Variant("adagrad_elementwise_loop",
            [Replace("adagrad", '''def adagrad(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    cache = np.array(config.get("cache", np.zeros_like(w)), dtype=float, copy=True)
    next_w = np.array(w, dtype=float, copy=True)
    flat_c, flat_w, flat_g = cache.reshape(-1), next_w.reshape(-1), dw.reshape(-1)
    for i in range(flat_g.size):
        flat_c[i] += flat_g[i] ** 2
        flat_w[i] -= config["learning_rate"] * flat_g[i] / (flat_c[i] ** 0.5 + config["epsilon"])
    config["cache"] = cache
    return next_w, config
''')]),
    Variant("rmsprop_moving_average_as_lerp",
            [Edit("rmsprop",
                  'cache = rho * config.get("cache", np.zeros_like(w)) + (1.0 - rho) * dw * dw',
                  'cache = config.get("cache", np.zeros_like(w))\n'
                  '    cache = cache + (1.0 - rho) * (np.square(dw) - cache)')]),
    # torch StepLR's recursive form: multiply by gamma at every multiple of step_size.
    Variant("step_decay_recursive",
            [Replace("step_decay", '''def step_decay(lr0, t, step_size, gamma=0.1):
    lr = lr0
    for s in range(1, t + 1):
        if s % step_size == 0:
            lr *= gamma
    return lr
''')]),
    Variant("linear_decay_interp",
            [Replace("linear_decay", '''def linear_decay(lr0, t, total_steps, end_factor=0.0):
    return float(np.interp(t, [0, total_steps], [lr0, end_factor * lr0]))
''')]),
    Variant("warmup_with_min",
            [Replace("linear_warmup", '''def linear_warmup(lr0, t, warmup_steps):
    return lr0 * min(1.0, (t + 1) / warmup_steps)
''')]),
    Variant("log_sampling_base_10",
            [Edit("sample_param", "return float(np.exp(rng.uniform(np.log(low), np.log(high))))",
                  "return float(10.0 ** rng.uniform(np.log10(low), np.log10(high)))")]),
    # All trials drawn up front, one vectorized draw per hyperparameter, then evaluated.
    Variant("random_search_presampled",
            [Replace("random_search", '''def random_search(objective, space, n_trials, seed):
    rng = np.random.default_rng(seed)
    columns = {}
    for name, spec in space.items():
        if isinstance(spec, tuple) and spec[0] == "log":
            columns[name] = np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]), n_trials))
        elif isinstance(spec, tuple):
            columns[name] = rng.uniform(spec[1], spec[2], n_trials)
        else:
            columns[name] = [spec[i] for i in rng.integers(0, len(spec), n_trials)]
    trials = [{name: col[i] for name, col in columns.items()} for i in range(n_trials)]
    values = [objective(p) for p in trials]
    best = int(np.argmin(values))
    return trials[best], values[best]
''')]),
]
