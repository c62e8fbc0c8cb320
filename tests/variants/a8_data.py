"""Variants of the a8_data solution: realistic bugs (each must lose points and fail at least the
listed tests) and alternative correct implementations (each must get full marks)."""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # ------------------------------------------------------------------ standardizer
    Variant("fit_sample_variance",
            [Edit("fit_standardizer", "X.var(axis=axes, keepdims=True)",
                  "X.var(axis=axes, keepdims=True, ddof=1)")],
            fails=["test_fit_per_feature_matches_var_mean",
                   "test_fit_per_channel_matches_var_mean"]),
    Variant("fit_without_keepdims",
            [Edit("fit_standardizer", '"mean": X.mean(axis=axes, keepdims=True)',
                  '"mean": X.mean(axis=axes)')],
            fails=["test_fit_per_channel_matches_var_mean"]),
    Variant("fit_per_channel_over_batch_only",
            [Edit("fit_standardizer", "axes = tuple(axis) if isinstance(axis, (list, tuple)) "
                  "else axis", "axes = 0")],
            fails=["test_fit_per_channel_matches_var_mean", "test_fit_over_other_axes"]),
    Variant("fit_stores_std_as_var",
            [Edit("fit_standardizer", '"var": X.var(axis=axes, keepdims=True)',
                  '"var": X.std(axis=axes, keepdims=True)')],
            fails=["test_fit_per_feature_matches_var_mean"]),
    # How eps enters costs the eps test's 2 points only, not the training-statistics tests.
    Variant("apply_eps_outside_sqrt",
            [Edit("apply_standardizer", "np.sqrt(stats[\"var\"] + eps)",
                  "(np.sqrt(stats[\"var\"]) + eps)")],
            fails=["test_apply_eps_from_the_argument_inside_the_square_root"], lost=2),
    Variant("apply_fixed_eps_of_its_own",
            [Edit("apply_standardizer", 'np.sqrt(stats["var"] + eps)',
                  'np.sqrt(stats["var"] + 1e-5)')],
            fails=["test_apply_eps_from_the_argument_inside_the_square_root"], lost=2),
    Variant("apply_refits_on_the_split",
            [Edit("apply_standardizer", 'out = (X - stats["mean"]) / np.sqrt(stats["var"] + eps)',
                  'out = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + eps)')],
            fails=["test_apply_per_feature_uses_training_statistics"]),
    Variant("apply_divides_by_variance",
            [Edit("apply_standardizer", 'np.sqrt(stats["var"] + eps)', '(stats["var"] + eps)')],
            fails=["test_apply_per_feature_uses_training_statistics",
                   "test_apply_per_channel_uses_training_statistics"]),
    Variant("apply_without_eps",
            [Edit("apply_standardizer", 'np.sqrt(stats["var"] + eps)', 'np.sqrt(stats["var"])')],
            fails=["test_apply_eps_from_the_argument_inside_the_square_root"], lost=2),
    # ------------------------------------------------------------------ hflip
    Variant("hflip_flips_height",
            [Edit("hflip", "out = x[..., ::-1]", "out = x[..., ::-1, :]")],
            fails=["test_hflip_matches_torchvision", "test_hflip_on_a_single_image"]),
    Variant("hflip_flips_axis_1",
            [Edit("hflip", "out = x[..., ::-1]", "out = np.flip(x, axis=1)")],
            fails=["test_hflip_matches_torchvision"]),
    Variant("hflip_in_place",
            [Edit("hflip", "out = x[..., ::-1]", "x[...] = x[..., ::-1].copy()\n    out = x")],
            fails=["test_functions_do_not_modify_inputs"]),
    # ------------------------------------------------------------------ random_crop
    Variant("crop_offsets_exclude_last_position",
            [Edit("random_crop", "rng.integers(0, max_top + 1, size=n)",
                  "rng.integers(0, max_top, size=n)"),
             Edit("random_crop", "rng.integers(0, max_left + 1, size=n)",
                  "rng.integers(0, max_left, size=n)")],
            fails=["test_random_crop_offsets_uniform_over_all_positions"]),
    Variant("crop_one_offset_for_the_batch",
            [Edit("random_crop", "rng.integers(0, max_top + 1, size=n)",
                  "rng.integers(0, max_top + 1) * np.ones(n, dtype=int)"),
             Edit("random_crop", "rng.integers(0, max_left + 1, size=n)",
                  "rng.integers(0, max_left + 1) * np.ones(n, dtype=int)")],
            fails=["test_random_crop_offsets_uniform_over_all_positions",
                   "test_random_crop_offsets_independent_per_image"]),
    Variant("crop_same_offset_for_top_and_left",
            [Edit("random_crop", "lefts = rng.integers(0, max_left + 1, size=n)", "lefts = tops")],
            fails=["test_random_crop_offsets_uniform_over_all_positions"]),
    Variant("crop_pads_only_one_side",
            [Edit("random_crop", "((0, 0), (0, 0), (padding, padding), (padding, padding))",
                  "((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding))")],
            fails=["test_random_crop_is_a_window_of_the_padded_image"]),
    Variant("crop_size_tuple_swapped",
            [Edit("random_crop", "h, w = (size, size) if np.ndim(size) == 0 else size",
                  "w, h = (size, size) if np.ndim(size) == 0 else size")],
            fails=["test_random_crop_rectangular_size"]),
    Variant("crop_uses_global_random_state",
            [Edit("random_crop", "tops = rng.integers(0, max_top + 1, size=n)",
                  "tops = np.random.randint(0, max_top + 1, size=n)")],
            fails=["test_random_crop_replays_with_the_same_generator_state"]),
    # ------------------------------------------------------------------ cutout
    Variant("cutout_center_excludes_last_row_and_column",
            [Edit("cutout", "cy = rng.integers(0, height, size=n)",
                  "cy = rng.integers(0, height - 1, size=n)"),
             Edit("cutout", "cx = rng.integers(0, width, size=n)",
                  "cx = rng.integers(0, width - 1, size=n)")],
            fails=["test_cutout_centers_uniform_over_all_pixels"]),
    Variant("cutout_center_kept_inside",
            [Edit("cutout", "cy = rng.integers(0, height, size=n)",
                  "cy = rng.integers(size // 2, height - size // 2, size=n)"),
             Edit("cutout", "cx = rng.integers(0, width, size=n)",
                  "cx = rng.integers(size // 2, width - size // 2, size=n)")],
            fails=["test_cutout_centers_uniform_over_all_pixels"]),
    Variant("cutout_wraps_negative_start",
            [Edit("cutout", "max(top, 0):min(top + size, height), max(left, 0):min(left + size,"
                  " width)", "top:top + size, left:left + size")],
            fails=["test_cutout_erases_a_clipped_square"]),
    Variant("cutout_first_channel_only",
            [Edit("cutout", "out[i, :, max(top, 0)", "out[i, 0, max(top, 0)")],
            fails=["test_cutout_erases_a_clipped_square"]),
    Variant("cutout_in_place",
            [Edit("cutout", "out = x.copy()", "out = x")],
            fails=["test_functions_do_not_modify_inputs"]),
    # A wrong box costs the erase test's 3 points only: the centers test takes the box as given.
    Variant("cutout_square_one_too_small",
            [Edit("cutout", "min(top + size, height)", "min(top + size - 1, height)"),
             Edit("cutout", "min(left + size, width)", "min(left + size - 1, width)")],
            fails=["test_cutout_erases_a_clipped_square"], lost=3),
    # The Cutout paper's code: the square ends at cy + size//2, one row short for odd sizes.
    Variant("cutout_paper_box_for_odd_sizes",
            [Edit("cutout", "min(top + size, height)", "min(cy[i] + size // 2, height)"),
             Edit("cutout", "min(left + size, width)", "min(cx[i] + size // 2, width)")],
            fails=["test_cutout_erases_a_clipped_square"], lost=3),
    # ------------------------------------------------------------------ mixup
    Variant("mixup_lam_uniform",
            [Edit("mixup", "lam = float(rng.beta(alpha, alpha))", "lam = float(rng.random())")],
            fails=["test_mixup_lam_follows_beta_alpha_alpha[0.2]",
                   "test_mixup_lam_follows_beta_alpha_alpha[4.0]"]),
    Variant("mixup_lam_folded_above_half",
            [Edit("mixup", "lam = float(rng.beta(alpha, alpha))",
                  "lam = float(rng.beta(alpha, alpha))\n    lam = max(lam, 1.0 - lam)")],
            fails=["test_mixup_lam_follows_beta_alpha_alpha[0.2]",
                   "test_mixup_lam_follows_beta_alpha_alpha[4.0]"]),
    Variant("mixup_lam_per_example",
            [Edit("mixup", "lam = float(rng.beta(alpha, alpha))",
                  "lam = rng.beta(alpha, alpha, size=(x.shape[0],) + (1,) * (x.ndim - 1))"),
             Edit("mixup", "y_mix = lam * y_onehot", "y_mix = lam.reshape(-1, 1) * y_onehot"),
             Edit("mixup", "(1.0 - lam) * y_onehot[perm]",
                  "(1.0 - lam.reshape(-1, 1)) * y_onehot[perm]")],
            fails=["test_mixup_inputs_are_convex_combinations_with_a_permutation"]),
    Variant("mixup_partners_with_replacement",
            [Edit("mixup", "perm = rng.permutation(x.shape[0])",
                  "perm = rng.integers(0, x.shape[0], size=x.shape[0])")],
            fails=["test_mixup_inputs_are_convex_combinations_with_a_permutation",
                   "test_mixup_permutation_uniform_including_fixed_points"]),
    Variant("mixup_roll_by_one",
            [Edit("mixup", "perm = rng.permutation(x.shape[0])",
                  "perm = np.roll(np.arange(x.shape[0]), 1)")],
            fails=["test_mixup_permutation_uniform_including_fixed_points"]),
    Variant("mixup_no_fixed_points",
            [Edit("mixup", "perm = rng.permutation(x.shape[0])",
                  "perm = rng.permutation(x.shape[0])\n"
                  "    while x.shape[0] > 1 and np.any(perm == np.arange(x.shape[0])):\n"
                  "        perm = rng.permutation(x.shape[0])")],
            fails=["test_mixup_permutation_uniform_including_fixed_points"]),
    Variant("mixup_labels_own_permutation",
            [Edit("mixup", "y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[perm]",
                  "y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[rng.permutation(len(x))]")],
            fails=["test_mixup_labels_use_the_same_permutation"]),
    Variant("mixup_labels_not_mixed",
            [Edit("mixup", "y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[perm]",
                  "y_mix = y_onehot.copy()")],
            fails=["test_mixup_labels_use_the_same_permutation"]),
    Variant("mixup_weights_swapped_for_y",
            [Edit("mixup", "y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[perm]",
                  "y_mix = (1.0 - lam) * y_onehot + lam * y_onehot[perm]")],
            fails=["test_mixup_labels_use_the_same_permutation"]),
    Variant("mixup_global_random_state",
            [Edit("mixup", "perm = rng.permutation(x.shape[0])",
                  "perm = np.random.permutation(x.shape[0])")],
            fails=["test_mixup_replays_with_the_same_generator_state"]),
]

CORRECT = [
    Variant("vectorized_crop_and_cutout_with_masks",
            [Replace("random_crop", '''def random_crop(x, size, padding, rng):
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    n, c, height, width = x.shape
    padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding), dtype=x.dtype)
    padded[:, :, padding:padding + height, padding:padding + width] = x
    left = rng.integers(0, width + 2 * padding - w, size=n, endpoint=True)
    top = rng.integers(0, height + 2 * padding - h, size=n, endpoint=True)
    rows = top[:, None] + np.arange(h)
    cols = left[:, None] + np.arange(w)
    idx = np.arange(n)[:, None, None, None]
    return padded[idx, np.arange(c)[None, :, None, None], rows[:, None, :, None],
                  cols[:, None, None, :]]
'''),
             Replace("cutout", '''def cutout(x, size, rng):
    n, _, height, width = x.shape
    centers = rng.integers(0, height * width, size=n)
    cy, cx = centers // width, centers % width
    r = np.arange(height)[None, :]
    c = np.arange(width)[None, :]
    row_in = (r >= (cy - size // 2)[:, None]) & (r < (cy - size // 2 + size)[:, None])
    col_in = (c >= (cx - size // 2)[:, None]) & (c < (cx - size // 2 + size)[:, None])
    keep = ~(row_in[:, :, None] & col_in[:, None, :])
    return x * keep[:, None, :, :]
''')]),
    Variant("standardizer_by_hand_and_mixup_by_shuffle",
            [Replace("fit_standardizer", '''def fit_standardizer(X, axis):
    axis = tuple(np.atleast_1d(axis).tolist())
    mean = np.sum(X, axis=axis, keepdims=True) / np.prod([X.shape[a] for a in axis])
    var = np.mean((X - mean) ** 2, axis=axis, keepdims=True)
    return {"mean": mean, "var": var}
'''),
             Replace("hflip", '''def hflip(x):
    return np.flip(x, axis=-1).copy()
'''),
             Replace("mixup", '''def mixup(x, y_onehot, alpha, rng):
    perm = np.arange(len(x))
    rng.shuffle(perm)
    lam = rng.beta(alpha, alpha)
    return lam * x + (1 - lam) * x[perm], lam * y_onehot + (1 - lam) * y_onehot[perm], float(lam)
''')]),
]
