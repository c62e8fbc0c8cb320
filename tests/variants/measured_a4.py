"""a4_regularization batch-norm backwards for the "analytic, not finite differences" check:
finite differences of the student's own forward (per input element, per row), the same module
with a backward that computes nothing (the control they must not beat), and an honest but
loop-heavy analytic backward (must keep full marks). Used by tests/test_measured_verdicts.py."""

from tests.variants.mutate import Replace, Variant

# The forward keeps what finite differences need; the analytic forward is reused as is.
_FORWARD = '''
_analytic_forward = batchnorm_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    out, cache = _analytic_forward(x, gamma, beta, bn_param)
    return out, (cache, x.copy(), gamma.copy(), beta.copy(), bn_param.get("eps", 1e-5))


def _f(x, gamma, beta, eps):
    return _analytic_forward(x, gamma, beta, {"mode": "train", "eps": eps})[0]


def _slope(dout, up, down, h):
    return np.sum((up - down) * dout, axis=0) / (2 * h)
'''

_PARAMS_BY_FD = '''
    h = 1e-5
    dgamma, dbeta = np.zeros_like(gamma), np.zeros_like(beta)
    for j in range(len(gamma)):
        e = np.zeros_like(gamma)
        e[j] = h
        dgamma[j] = _slope(dout, _f(x, gamma + e, beta, eps), _f(x, gamma - e, beta, eps), h)[j]
        dbeta[j] = _slope(dout, _f(x, gamma, beta + e, eps), _f(x, gamma, beta - e, eps), h)[j]
    return dx, dgamma, dbeta
'''

FD_PER_ELEMENT = _FORWARD + '''

def batchnorm_backward(dout, cache):
    _, x, gamma, beta, eps = cache
    h = 1e-5
    dx = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[i, j] += h
            down[i, j] -= h
            dx[i, j] = _slope(dout, _f(up, gamma, beta, eps), _f(down, gamma, beta, eps), h).sum()
''' + _PARAMS_BY_FD

# Features are independent: a whole row perturbed at once still separates by column.
FD_PER_ROW = _FORWARD + '''

def batchnorm_backward(dout, cache):
    _, x, gamma, beta, eps = cache
    h = 1e-5
    dx = np.zeros_like(x)
    for i in range(x.shape[0]):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        dx[i] = _slope(dout, _f(up, gamma, beta, eps), _f(down, gamma, beta, eps), h)
''' + _PARAMS_BY_FD

# The same module without the trick: a backward that computes nothing (zeros of the right
# shapes, so the forward-only tests of the net keep their points).
NO_BACKWARD = '''
def batchnorm_backward(dout, cache):
    return np.zeros_like(dout), np.zeros(dout.shape[1]), np.zeros(dout.shape[1])
'''

# Analytic, one row at a time: slow, honest.
ANALYTIC_ROW_LOOP = '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, std = cache
    n = dout.shape[0]
    dx_hat = dout * gamma
    mean_dx_hat = dx_hat.mean(axis=0)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=0)
    dx = np.empty_like(dout)
    for i in range(n):
        if mode == "train":
            dx[i] = (dx_hat[i] - mean_dx_hat - x_hat[i] * mean_dx_hat_x_hat) / std
        else:
            dx[i] = dx_hat[i] / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
'''

ATTACKS = {name: Variant(name, [Replace("batchnorm_backward", source)])
           for name, source in (("fd_per_element", FD_PER_ELEMENT), ("fd_per_row", FD_PER_ROW))}
CONTROL = Variant("no_backward", [Replace("batchnorm_backward", NO_BACKWARD)])
HONEST = [Variant("solution", []),
          Variant("analytic_row_loop", [Replace("batchnorm_backward", ANALYTIC_ROW_LOOP)])]
