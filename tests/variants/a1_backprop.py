"""Buggy and correct variants of the a1_backprop reference (solutions/a1_backprop/backprop.py).

Each BUGGY variant is a mistake students really make when writing backpropagation; the hidden
suite must take points off and fail at least the tests listed in `fails`. Each CORRECT variant
is a different but equivalent implementation that must keep full marks.
"""

from tests.variants.mutate import Edit, Replace, Variant

BUGGY = [
    # --- Value: gradient accumulation ---------------------------------------------------------
    # `=` instead of `+=`: a node used twice keeps only the gradient of its last use.
    Variant(
        "value_add_assigns_grad",
        [
            Edit("Value.__add__", "self.grad += out.grad", "self.grad = out.grad"),
            Edit("Value.__add__", "other.grad += out.grad", "other.grad = out.grad"),
        ],
        fails=[
            "test_value_reused_node_accumulates_grad",
            "test_value_random_dag_leaf_grads_match_torch",
        ],
    ),
    Variant(
        "value_mul_assigns_grad",
        [
            Edit("Value.__mul__", "self.grad += other.data", "self.grad = other.data"),
            Edit("Value.__mul__", "other.grad += self.data", "other.grad = self.data"),
        ],
        fails=[
            "test_value_reused_node_accumulates_grad",
            "test_value_mul_div_and_reflected_grads",
            "test_value_random_dag_leaf_grads_match_torch",
        ],
    ),
    # The mul gate must swap: d(xy)/dx = y. Multiplying by the node's own value is wrong.
    Variant(
        "value_mul_does_not_swap",
        [
            Edit(
                "Value.__mul__",
                "self.grad += other.data * out.grad",
                "self.grad += self.data * out.grad",
            ),
            Edit(
                "Value.__mul__",
                "other.grad += self.data * out.grad",
                "other.grad += other.data * out.grad",
            ),
        ],
        fails=[
            "test_value_mul_div_and_reflected_grads",
            "test_value_random_dag_leaf_grads_match_torch",
        ],
    ),
    # --- Value: backward order ---------------------------------------------------------------
    # Walking the topological order forwards: leaves fire first, with zero gradient.
    Variant(
        "value_backward_topo_not_reversed",
        [Edit("Value.backward", "for node in reversed(topo):", "for node in topo:")],
        fails=[
            "test_value_pow_grads_int_and_float_exponents",
            "test_value_sigmoid_tanh_grads",
            "test_value_random_dag_leaf_grads_match_torch",
            "test_value_random_dag_intermediate_grads_match_torch",
        ],
    ),
    # Breadth-first from the output is not a topological order: a node reached early along a
    # short path passes its gradient on before a longer path has added to it.
    Variant(
        "value_backward_breadth_first",
        [
            Replace(
                "Value.backward",
                """
def backward(self) -> None:
    self.grad = 1.0
    queue, seen = [self], {id(self)}
    while queue:
        node = queue.pop(0)
        node._backward()
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                queue.append(child)
""",
            )
        ],
        fails=[
            "test_value_reused_node_accumulates_grad",
            "test_value_random_dag_leaf_grads_match_torch",
        ],
    ),
    # Forgetting d(out)/d(out) = 1: every gradient stays 0.
    Variant(
        "value_backward_not_seeded",
        [Edit("Value.backward", "self.grad = 1.0", "pass")],
        fails=[
            "test_value_backward_seeds_output_grad_with_one",
            "test_value_add_sub_neg_and_reflected_grads",
            "test_value_random_dag_leaf_grads_match_torch",
        ],
    ),
    # --- Value: local gradients ------------------------------------------------------------
    Variant(
        "value_relu_grad_one_at_zero",
        [Edit("Value.relu", "(1.0 if self.data > 0 else 0.0)", "(1.0 if self.data >= 0 else 0.0)")],
        fails=["test_value_relu_grads_including_kink"],
    ),
    # Power rule without the - 1: d(x^k)/dx written as k x^k. Division reuses ** -1.
    Variant(
        "value_pow_grad_exponent_not_decremented",
        [
            Edit(
                "Value.__pow__",
                "k * self.data ** (k - 1) * out.grad",
                "k * self.data**k * out.grad",
            )
        ],
        fails=[
            "test_value_pow_grads_int_and_float_exponents",
            "test_value_mul_div_and_reflected_grads",
        ],
    ),
    Variant(
        "value_tanh_grad_not_squared",
        [Edit("Value.tanh", "(1.0 - out.data**2)", "(1.0 - out.data)")],
        fails=["test_value_sigmoid_tanh_grads"],
    ),
    # Local gradient of the sigmoid evaluated at the input instead of the output.
    Variant(
        "value_sigmoid_grad_uses_input",
        [
            Edit(
                "Value.sigmoid",
                "out.data * (1.0 - out.data) * out.grad",
                "self.data * (1.0 - self.data) * out.grad",
            )
        ],
        fails=["test_value_sigmoid_tanh_grads"],
    ),
    # log's backward copy-pasted from exp's.
    Variant(
        "value_log_grad_copied_from_exp",
        [
            Edit(
                "Value.log", "self.grad += out.grad / self.data", "self.grad += out.data * out.grad"
            )
        ],
        fails=["test_value_exp_log_grads"],
    ),
    # Reflected ops with the operands in the wrong order: 2 - a computed as a - 2.
    Variant(
        "value_rsub_operands_swapped",
        [Edit("Value.__rsub__", "return Value._wrap(other) + (-self)", "return self - other")],
        fails=["test_value_add_sub_neg_and_reflected_grads"],
    ),
    Variant(
        "value_rtruediv_operands_swapped",
        [Edit("Value.__rtruediv__", "return Value._wrap(other) * self**-1", "return self / other")],
        fails=["test_value_forward_data_matches_python", "test_value_mul_div_and_reflected_grads"],
    ),
    # --- affine ---------------------------------------------------------------------------
    Variant(
        "affine_db_not_summed_over_batch",
        [Edit("affine_backward", "db = dout.sum(axis=0)", "db = dout")],
        fails=[
            "test_affine_backward_db_sums_over_batch",
            "test_affine_single_sample",
            "test_two_layer_net_output_layer_grads",
            "test_two_layer_net_hidden_layer_grads",
        ],
    ),
    Variant(
        "affine_dx_not_reshaped",
        [Edit("affine_backward", "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")],
        fails=["test_affine_backward_dx_has_input_shape", "test_affine_single_sample"],
    ),
    Variant(
        "affine_dw_transposed",
        [Edit("affine_backward", "dw = x2d.T @ dout\n", "dw = dout.T @ x2d\n")],
        fails=["test_affine_backward_dw_matches_autograd", "test_affine_single_sample"],
    ),
    # Flattening each sample forgotten: fails as soon as x has more than two dimensions.
    Variant(
        "affine_forward_not_flattened",
        [Edit("affine_forward", "x2d = x.reshape(x.shape[0], -1)", "x2d = x")],
        fails=["test_affine_forward_matches_linear_multidim_input"],
    ),
    # --- relu ---------------------------------------------------------------------------------
    Variant(
        "relu_grad_one_at_zero",
        [Edit("relu_backward", "dx = dout * (x > 0)", "dx = dout * (x >= 0)")],
        fails=["test_relu_backward_is_zero_at_the_kink"],
    ),
    # Zeroing the upstream gradient in place and returning it: right values, only the
    # in-place test fails.
    Variant(
        "relu_backward_modifies_dout",
        [Edit("relu_backward", "dx = dout * (x > 0)", "dout[x <= 0] = 0.0\n    dx = dout")],
        fails=["test_no_layer_function_modifies_its_inputs"],
    ),
    # --- sigmoid ----------------------------------------------------------------------------
    # exp(x) / (1 + exp(x)) overflows to inf / inf = NaN for large positive x.
    Variant(
        "sigmoid_unstable_exp",
        [
            Edit(
                "sigmoid_forward",
                "e = np.exp(-np.abs(x))\n    out = np.where(x >= 0, 1.0, e) / (1.0 + e)",
                "out = np.exp(x) / (1.0 + np.exp(x))",
            )
        ],
        fails=["test_sigmoid_extreme_inputs_stay_finite"],
    ),
    # The cache holds x, and backward treats it as the sigmoid's output.
    Variant(
        "sigmoid_caches_input_not_output",
        [Edit("sigmoid_forward", "cache = out", "cache = x")],
        fails=[
            "test_sigmoid_backward_matches_autograd",
            "test_sigmoid_extreme_inputs_stay_finite",
            "test_two_layer_net_hidden_layer_grads",
        ],
    ),
    # --- two-layer net and XOR ----------------------------------------------------------------
    Variant(
        "net_grads_missing_1_over_n",
        [Edit("two_layer_net", "ds = ((p - y) / n)[:, None]", "ds = (p - y)[:, None]")],
        fails=["test_two_layer_net_output_layer_grads", "test_two_layer_net_hidden_layer_grads"],
    ),
    Variant(
        "net_loss_summed_not_averaged",
        [Edit("two_layer_net", "loss = float(np.mean(", "loss = float(np.sum(")],
        fails=["test_two_layer_net_loss_matches_torch_bce"],
    ),
    # p returned as an (N, 1) column instead of (N,).
    Variant(
        "net_probabilities_not_flattened",
        [Edit("two_layer_net", "return p\n", "return sigmoid_forward(s)[0]\n")],
        fails=["test_two_layer_net_predicts_probabilities"],
    ),
    # Gradient ASCENT: the sign of the update flipped.
    Variant(
        "train_xor_gradient_ascent",
        [Edit("train_xor", "v - learning_rate * grads[k]", "v + learning_rate * grads[k]")],
        fails=["test_train_xor_classifies_all_four_points"],
    ),
    # Fresh unseeded randomness: a second call with the same seed gives other parameters.
    Variant(
        "train_xor_ignores_seed",
        [Edit("train_xor", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")],
        fails=["test_train_xor_replays_with_same_seed"],
    ),
]

CORRECT = [
    # The textbook formula: numpy warns (exp(1000) -> inf) but every value is right (1/inf -> 0);
    # the suite checks values, never warnings (printed in the worker, unverifiable).
    Variant(
        "sigmoid_naive_overflow_warning",
        [
            Edit(
                "sigmoid_forward",
                "e = np.exp(-np.abs(x))\n    out = np.where(x >= 0, 1.0, e) / (1.0 + e)",
                "out = 1.0 / (1.0 + np.exp(-x))",
            )
        ],
    ),
    # micrograd's recursive topological sort (fine for the graph depths used here).
    Variant(
        "value_backward_recursive_topo",
        [
            Replace(
                "Value.backward",
                """
def backward(self) -> None:
    topo, visited = [], set()

    def build(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build(child)
            topo.append(node)

    build(self)
    self.grad = 1.0
    for node in reversed(topo):
        node._backward()
""",
            )
        ],
    ),
    # Kahn's algorithm: process a node once all the nodes that use it have been processed.
    Variant(
        "value_backward_kahn_indegree",
        [
            Replace(
                "Value.backward",
                """
def backward(self) -> None:
    users, stack, seen = {}, [self], {id(self)}
    while stack:
        node = stack.pop()
        for child in node._prev:
            users[id(child)] = users.get(id(child), 0) + 1
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    self.grad = 1.0
    ready = [self]
    while ready:
        node = ready.pop()
        node._backward()
        for child in node._prev:
            users[id(child)] -= 1
            if users[id(child)] == 0:
                ready.append(child)
""",
            )
        ],
    ),
    # Division as its own gate instead of a * b**-1 (and the same for 2 / a, 2 - a, -a).
    Variant(
        "value_direct_div_sub_neg_gates",
        [
            Replace(
                "Value.__truediv__",
                """
def __truediv__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data / other.data, (self, other), "/")

    def _backward():
        self.grad += out.grad / other.data
        other.grad -= out.grad * self.data / other.data**2

    out._backward = _backward
    return out
""",
            ),
            Replace(
                "Value.__rtruediv__",
                """
def __rtruediv__(self, other):
    return Value(other) / self
""",
            ),
            Replace(
                "Value.__sub__",
                """
def __sub__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data - other.data, (self, other), "-")

    def _backward():
        self.grad += out.grad
        other.grad -= out.grad

    out._backward = _backward
    return out
""",
            ),
            Replace(
                "Value.__rsub__",
                """
def __rsub__(self, other):
    return Value(other) - self
""",
            ),
            Replace(
                "Value.__neg__",
                """
def __neg__(self):
    out = Value(-self.data, (self,), "neg")

    def _backward():
        self.grad -= out.grad

    out._backward = _backward
    return out
""",
            ),
        ],
    ),
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: no exp at all, so nothing can overflow.
    Variant(
        "sigmoid_via_tanh",
        [
            Edit(
                "sigmoid_forward",
                "e = np.exp(-np.abs(x))\n    out = np.where(x >= 0, 1.0, e) / (1.0 + e)",
                "out = 0.5 * (1.0 + np.tanh(0.5 * x))",
            ),
            Edit(
                "Value.sigmoid",
                """        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)""",
                "        s = 0.5 * (1.0 + math.tanh(0.5 * self.data))",
            ),
        ],
    ),
    # Boolean masks instead of np.where; the cache keeps x and backward recomputes s.
    Variant(
        "sigmoid_masks_cache_input",
        [
            Replace(
                "sigmoid_forward",
                """
def sigmoid_forward(x):
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out, x
""",
            ),
            Replace(
                "sigmoid_backward",
                """
def sigmoid_backward(dout, cache):
    s = sigmoid_forward(cache)[0]
    return dout * s * (1.0 - s)
""",
            ),
        ],
    ),
    # einsum / tensordot, a cache of three arrays, the flattening undone with np.reshape.
    Variant(
        "affine_einsum",
        [
            Replace(
                "affine_forward",
                """
def affine_forward(x, w, b):
    out = np.einsum("nd,dm->nm", np.reshape(x, (len(x), -1)), w) + b[None, :]
    return out, (x, w, b)
""",
            ),
            Replace(
                "affine_backward",
                """
def affine_backward(dout, cache):
    x, w, b = cache
    x2d = np.reshape(x, (len(x), -1))
    dx = np.reshape(np.einsum("nm,dm->nd", dout, w), np.shape(x))
    dw = np.tensordot(x2d, dout, axes=([0], [0]))
    db = np.einsum("nm->m", dout)
    return dx, dw, db
""",
            ),
        ],
    ),
    # The textbook chain through dL/dp and the sigmoid derivative instead of (p - y) / N.
    Variant(
        "net_bce_through_dp",
        [
            Edit(
                "two_layer_net",
                "loss = float(np.mean(np.maximum(s1, 0.0) + np.log1p(np.exp(-np.abs(s1)))"
                " - y * s1))",
                "loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))",
            ),
            Edit(
                "two_layer_net",
                "ds = ((p - y) / n)[:, None]",
                "dp = -(y / p - (1 - y) / (1 - p)) / n\n    ds = (dp * p * (1 - p))[:, None]",
            ),
        ],
    ),
    # Another training recipe: more hidden units, smaller steps, in-place updates of its own
    # copies, init with a different scale.
    Variant(
        "train_xor_other_recipe",
        [
            Replace(
                "train_xor",
                """
def train_xor(seed, hidden=16, learning_rate=1.0, steps=4000):
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(0.0, 1.5, size=(2, hidden)),
        "b1": rng.normal(0.0, 0.5, size=hidden),
        "W2": rng.normal(0.0, 1.5, size=(hidden, 1)),
        "b2": np.zeros(1),
    }
    for _ in range(steps):
        _, grads = two_layer_net(XOR_X, params, XOR_Y)
        for k in params:
            params[k] -= learning_rate * grads[k]
    return params
""",
            )
        ],
    ),
]
