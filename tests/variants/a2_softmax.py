"""Buggy and correct variants of the a2_softmax reference (solutions/a2_softmax/softmax.py).

Each BUGGY variant is a mistake students really make with softmax and its losses; the hidden
suite must take points off and fail at least the tests listed in `fails`. Each CORRECT variant
is a different but equivalent implementation that must keep full marks.
"""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # --- softmax / log_softmax ---------------------------------------------------------------
    # exp of logits of size 1e4 overflows: inf / inf = NaN.
    Variant(
        "softmax_no_max_subtraction",
        [Edit("softmax", "z = x - np.max(x, axis=-1, keepdims=True)", "z = x")],
        fails=["test_softmax_large_logits_stable"],
    ),
    # One shift for the whole batch: a row far below the global maximum underflows to 0 / 0.
    Variant(
        "softmax_global_max",
        [Edit("softmax", "np.max(x, axis=-1, keepdims=True)", "np.max(x)")],
        fails=["test_softmax_large_logits_stable"],
    ),
    # Normalising over the batch axis instead of the classes.
    Variant(
        "softmax_sums_over_batch_axis",
        [Edit("softmax", "p = e / np.sum(e, axis=-1, keepdims=True)", "p = e / np.sum(e, axis=0)")],
        fails=["test_softmax_matches_torch", "test_softmax_large_logits_stable"],
    ),
    # Shifting in place: the caller's logits change (the values are right).
    Variant(
        "softmax_shifts_input_in_place",
        [
            Edit(
                "softmax",
                "z = x - np.max(x, axis=-1, keepdims=True)",
                "x -= np.max(x, axis=-1, keepdims=True)\n    z = x",
            )
        ],
        fails=["test_no_function_modifies_its_inputs"],
    ),
    # log(softmax(x)): softmax underflows to 0 for unlikely classes and log(0) = -inf.
    Variant(
        "log_softmax_as_log_of_softmax",
        [Replace("log_softmax", "def log_softmax(x):\n    return np.log(softmax(x))\n")],
        fails=["test_log_softmax_large_logits_stable", "test_cross_entropy_large_logits_stable"],
    ),
    # --- cross-entropy --------------------------------------------------------------------
    Variant(
        "cross_entropy_sum_not_mean",
        [Edit("cross_entropy_loss", "np.mean(logp[rows, y])", "np.sum(logp[rows, y])")],
        fails=["test_cross_entropy_loss_matches_torch"],
    ),
    Variant(
        "cross_entropy_grad_missing_1_over_n",
        [Edit("cross_entropy_loss", "    dscores /= n\n", "")],
        fails=["test_cross_entropy_grad_matches_autograd"],
    ),
    # d/ds of -log p_y is p - onehot: subtracting the one-hot, not adding it.
    Variant(
        "cross_entropy_grad_onehot_sign",
        [Edit("cross_entropy_loss", "dscores[rows, y] -= 1.0", "dscores[rows, y] += 1.0")],
        fails=[
            "test_cross_entropy_grad_matches_autograd",
            "test_cross_entropy_single_sample",
            "test_cross_entropy_single_class",
        ],
    ),
    # logp[:, y] picks an (N, N) block (every row at every label), not one entry per row.
    Variant(
        "cross_entropy_fancy_index_all_rows",
        [Edit("cross_entropy_loss", "np.mean(logp[rows, y])", "np.mean(logp[:, y])")],
        fails=["test_cross_entropy_loss_matches_torch"],
    ),
    # Shifting the scores in place (to "save memory") changes the caller's array.
    Variant(
        "cross_entropy_shifts_scores_in_place",
        [
            Edit(
                "cross_entropy_loss",
                "logp = log_softmax(scores)",
                "scores -= scores.max(axis=1, keepdims=True)\n    logp = log_softmax(scores)",
            )
        ],
        fails=["test_no_function_modifies_its_inputs"],
    ),
    # --- binary cross-entropy on logits ----------------------------------------------------
    # sigmoid first, then logs: p rounds to exactly 0 or 1 for |z| large, and log(0) = -inf.
    Variant(
        "bce_sigmoid_then_log",
        [
            Replace(
                "bce_with_logits_loss",
                """
def bce_with_logits_loss(z, y):
    p = 1.0 / (1.0 + np.exp(-z))
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return loss, (p - y) / z.shape[0]
""",
            )
        ],
        fails=["test_bce_with_logits_large_logits_stable"],
    ),
    # Clipping p away from 0 and 1 hides the NaN but caps the loss of a confident mistake.
    Variant(
        "bce_clipped_probabilities",
        [
            Replace(
                "bce_with_logits_loss",
                """
def bce_with_logits_loss(z, y):
    p = np.clip(0.5 * (1.0 + np.tanh(0.5 * z)), 1e-12, 1 - 1e-12)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return loss, (p - y) / z.shape[0]
""",
            )
        ],
        fails=["test_bce_with_logits_large_logits_stable"],
    ),
    Variant(
        "bce_grad_missing_1_over_n",
        [Edit("bce_with_logits_loss", "dz = (p - y) / n", "dz = p - y")],
        fails=["test_bce_with_logits_grad_matches_autograd"],
    ),
    # Hard labels assumed: y is thresholded, so soft targets give the wrong loss.
    Variant(
        "bce_thresholds_soft_labels",
        [Edit("bce_with_logits_loss", "- y * z +", "- (y > 0.5) * z +")],
        fails=["test_bce_with_logits_loss_matches_torch_soft_labels"],
    ),
    # --- mean squared error -------------------------------------------------------------------
    # Dividing by the batch size instead of the number of elements.
    Variant(
        "mse_divides_by_batch_size",
        [
            Edit(
                "mse_loss",
                "loss = float(np.mean(diff**2))",
                "loss = float(np.sum(diff**2) / len(diff))",
            ),
            Edit("mse_loss", "dpred = 2.0 * diff / diff.size", "dpred = 2.0 * diff / len(diff)"),
        ],
        fails=["test_mse_loss_matches_torch", "test_mse_loss_grad_matches_autograd"],
    ),
    Variant(
        "mse_grad_missing_factor_2",
        [Edit("mse_loss", "dpred = 2.0 * diff / diff.size", "dpred = diff / diff.size")],
        fails=["test_mse_loss_grad_matches_autograd"],
    ),
    # --- entropy and KL ---------------------------------------------------------------------
    # 0 * log(0) = 0 * -inf = NaN.
    Variant(
        "entropy_log_of_zero",
        [Replace("entropy", "def entropy(p):\n    return float(-np.sum(p * np.log(p)))\n")],
        fails=["test_entropy_with_exact_zeros", "test_entropy_known_values"],
    ),
    # Bits instead of nats.
    Variant(
        "entropy_log2",
        [Edit("entropy", "np.log(p[nz])", "np.log2(p[nz])")],
        fails=["test_entropy_matches_categorical", "test_entropy_known_values"],
    ),
    # KL(q || p) instead of KL(p || q).
    Variant(
        "kl_arguments_swapped",
        [
            Replace(
                "kl_divergence",
                """
def kl_divergence(p, q):
    return float(np.sum(q * np.log(q / p)))
""",
            )
        ],
        fails=["test_kl_divergence_matches_kl_div", "test_kl_divergence_with_zeros_in_p"],
    ),
    Variant(
        "kl_log_of_zero",
        [
            Replace(
                "kl_divergence",
                "def kl_divergence(p, q):\n    return float(np.sum(p * np.log(p / q)))\n",
            )
        ],
        fails=["test_kl_divergence_with_zeros_in_p"],
    ),
]

CORRECT = [
    # p = exp(x - logsumexp(x)), with log_softmax written first.
    Variant(
        "softmax_via_logsumexp",
        [
            Replace(
                "log_softmax",
                """
def log_softmax(x):
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)
""",
            ),
            Replace("softmax", "def softmax(x):\n    return np.exp(log_softmax(x))\n"),
        ],
    ),
    # Loops over samples; softmax for the gradient, a max-shifted logsumexp for the loss.
    Variant(
        "cross_entropy_loop",
        [
            Replace(
                "cross_entropy_loss",
                """
def cross_entropy_loss(scores, y):
    n = len(scores)
    loss = 0.0
    dscores = np.zeros_like(scores, dtype=float)
    for i in range(n):
        row = scores[i]
        m = row.max()
        lse = m + np.log(np.sum(np.exp(row - m)))
        loss += lse - row[y[i]]
        dscores[i] = np.exp(row - lse)
        dscores[i, y[i]] -= 1.0
    return loss / n, dscores / n
""",
            )
        ],
    ),
    # Loss as y softplus(-z) + (1 - y) softplus(z) with np.logaddexp; sigmoid via tanh.
    Variant(
        "bce_logaddexp",
        [
            Replace(
                "bce_with_logits_loss",
                """
def bce_with_logits_loss(z, y):
    loss = np.mean(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z))
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(loss), (p - y) / len(z)
""",
            )
        ],
    ),
    # Masking with np.where instead of boolean indexing, written as sums over all entries.
    Variant(
        "entropy_kl_where",
        [
            Replace(
                "entropy",
                """
def entropy(p):
    safe = np.where(p > 0, p, 1.0)
    return float(-np.sum(p * np.log(safe)))
""",
            ),
            Replace(
                "kl_divergence",
                """
def kl_divergence(p, q):
    safe_p = np.where(p > 0, p, 1.0)
    safe_q = np.where(p > 0, q, 1.0)
    return float(np.sum(p * np.log(safe_p / safe_q)))
""",
            ),
        ],
    ),
    Variant(
        "mse_square_sum",
        [
            Replace(
                "mse_loss",
                """
def mse_loss(pred, target):
    d = np.subtract(pred, target)
    s = np.prod(d.shape)
    return float(np.sum(np.square(d)) / s), (d + d) / s
""",
            )
        ],
    ),
]
