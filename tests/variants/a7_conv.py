"""Variants of the a7_conv solution: realistic bugs (each must lose points and fail at least the
listed tests) and alternative correct implementations (each must get full marks)."""

from tests.variants.mutate import Edit, Replace, Variant

NAIVE_DX = "test_conv_backward_naive_dx_matches_autograd"
NAIVE_DW = "test_conv_backward_naive_dw_matches_autograd"
FAST_DX = "test_conv_backward_fast_dx_matches_autograd"
FAST_DW = "test_conv_backward_fast_dw_matches_autograd"

BUGGY = [
    # ------------------------------------------------------------------ output size
    Variant("output_size_true_division",
            [Edit("conv_output_size", "(n + 2 * p - k) // s + 1", "(n + 2 * p - k) / s + 1")],
            fails=["test_conv_output_size_matches_torch",
                   "test_conv_output_size_returns_python_int"]),
    Variant("output_size_pads_one_side",
            [Edit("conv_output_size", "(n + 2 * p - k)", "(n + p - k)")],
            fails=["test_conv_output_size_matches_torch",
                   "test_conv_forward_naive_stride_and_padding"]),
    Variant("output_size_rounds_up",
            [Edit("conv_output_size", "(n + 2 * p - k) // s + 1", "-((k - n - 2 * p) // s) + 1")],
            fails=["test_conv_output_size_matches_torch",
                   "test_conv_forward_naive_non_square_drops_incomplete_windows"]),
    # H and W swapped in the output size: right values whenever H' == W', so every forward
    # test draws H' != W' (and the seed sweep checks it on every seed).
    Variant("naive_output_size_swaps_h_and_w",
            [Edit("conv_forward_naive", "h_out = conv_output_size(h, hh, pad, stride)",
                  "h_out = conv_output_size(wd, ww, pad, stride)"),
             Edit("conv_forward_naive", "w_out = conv_output_size(wd, ww, pad, stride)",
                  "w_out = conv_output_size(h, hh, pad, stride)")],
            fails=["test_conv_forward_naive_matches_torch",
                   "test_conv_forward_naive_stride_and_padding",
                   "test_conv_forward_naive_non_square_drops_incomplete_windows"]),
    Variant("fast_output_size_swaps_h_and_w",
            [Edit("conv_forward_fast", "cols = windows[:, :, ::stride, ::stride]",
                  "_, _, h, wd = x.shape\n"
                  "    h_out = conv_output_size(wd, ww, pad, stride)\n"
                  "    w_out = conv_output_size(h, hh, pad, stride)\n"
                  "    cols = windows[:, :, ::stride, ::stride][:, :, :h_out, :w_out]")],
            fails=["test_conv_forward_fast_matches_torch"]),
    # ------------------------------------------------------------------ naive convolution
    Variant("naive_flips_the_kernel",
            [Edit("conv_forward_naive", "np.tensordot(window, w,",
                  "np.tensordot(window, w[:, :, ::-1, ::-1],")],
            fails=["test_conv_forward_naive_matches_torch", "test_conv_fast_agrees_with_naive"]),
    Variant("naive_forgets_bias",
            [Edit("conv_forward_naive", "axes=([1, 2, 3], [1, 2, 3])) + b",
                  "axes=([1, 2, 3], [1, 2, 3]))")],
            fails=["test_conv_forward_naive_matches_torch", "test_conv_naive_batch_of_one"]),
    Variant("naive_window_ignores_stride",
            [Edit("conv_forward_naive",
                  "xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]",
                  "xp[:, :, i:i + hh, j:j + ww]")],
            fails=["test_conv_forward_naive_stride_and_padding"]),
    Variant("naive_pads_only_top_left",
            [Edit("conv_forward_naive", "((0, 0), (0, 0), (pad, pad), (pad, pad))",
                  "((0, 0), (0, 0), (pad, 0), (pad, 0))")],
            fails=["test_conv_forward_naive_stride_and_padding"]),
    Variant("naive_backward_crop_with_negative_index",
            [Edit("conv_backward_naive", "dxp[:, :, pad:pad + h, pad:pad + wd]",
                  "dxp[:, :, pad:-pad, pad:-pad]")],
            fails=[NAIVE_DX, "test_conv_naive_batch_of_one"]),
    Variant("naive_backward_overwrites_dx_of_overlapping_windows",
            [Edit("conv_backward_naive", "dxp[:, :, rows, cols] +=", "dxp[:, :, rows, cols] =")],
            fails=[NAIVE_DX]),
    Variant("naive_backward_overwrites_dw",
            [Edit("conv_backward_naive", "dw += np.tensordot", "dw = np.tensordot")],
            fails=[NAIVE_DW]),
    Variant("naive_backward_db_averages_positions",
            [Edit("conv_backward_naive", "db = dout.sum(axis=(0, 2, 3))",
                  "db = dout.sum(axis=(0, 2, 3)) / (h_out * w_out)")],
            fails=["test_conv_backward_naive_db_sums_dout"]),
    Variant("naive_backward_dx_uses_unstrided_windows",
            [Edit("conv_backward_naive", "rows = slice(i * stride, i * stride + hh)",
                  "rows = slice(i, i + hh)")],
            fails=[NAIVE_DX, NAIVE_DW]),
    # ------------------------------------------------------------------ fast convolution
    Variant("fast_forgets_padding",
            [Edit("conv_forward_fast", "sliding_window_view(xp,", "sliding_window_view(x,")],
            fails=["test_conv_forward_fast_matches_torch"]),
    Variant("fast_bias_broadcast_on_last_axis",
            [Edit("conv_forward_fast", "+ b[None, :, None, None]", "+ b")],
            fails=["test_conv_forward_fast_matches_torch"]),
    Variant("fast_strides_rows_only",
            [Edit("conv_forward_fast", "windows[:, :, ::stride, ::stride]",
                  "windows[:, :, ::stride, :]")],
            fails=["test_conv_forward_fast_matches_torch"]),
    Variant("fast_reshapes_instead_of_transposing",
            [Edit("conv_forward_fast", '"nchwkl,fckl->nfhw", cols, w, optimize=True)',
                  '"nchwkl,fckl->nhwf", cols, w, optimize=True).reshape(x.shape[0], w.shape[0], '
                  "cols.shape[2], cols.shape[3])")],
            fails=["test_conv_forward_fast_matches_torch"]),
    Variant("fast_backward_dw_swaps_kernel_axes",
            [Edit("conv_backward_fast", '"nfhw,nchwkl->fckl"', '"nfhw,nchwlk->fckl"')],
            fails=[FAST_DW]),
    Variant("fast_backward_col2im_overwrites",
            [Edit("conv_backward_fast", "stride * w_out:stride] += dcols",
                  "stride * w_out:stride] = dcols")],
            fails=[FAST_DX]),
    Variant("fast_backward_db_averages_batch",
            [Edit("conv_backward_fast", "db = dout.sum(axis=(0, 2, 3))",
                  "db = dout.sum(axis=(0, 2, 3)) / dout.shape[0]")],
            fails=["test_conv_backward_fast_db_sums_dout"]),
    Variant("fast_forward_calls_the_naive_loop",
            [Replace("conv_forward_fast", '''
def conv_forward_fast(x, w, b, conv_param):
    out, (x, w, conv_param) = conv_forward_naive(x, w, b, conv_param)
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))
    return out, (x.shape, w, conv_param, windows[:, :, ::stride, ::stride])
''')],
            fails=["test_conv_forward_fast_has_no_loop_over_output_positions"]),
    # A loop over output rows alone costs little more than a vectorized pass (the CPU-time
    # check cannot and need not tell them apart); one over every position is the target.
    Variant("fast_backward_loops_over_output_positions",
            [Edit("conv_backward_fast",
                  '    dcols = np.einsum("nfhw,fckl->nchwkl", dout, w, optimize=True)\n',
                  '    dcols = np.empty(cols.shape)\n'
                  '    for i in range(h_out):\n'
                  '        for j in range(w_out):\n'
                  '            dcols[:, :, i, j] = np.tensordot(dout[:, :, i, j], w, axes=1)\n')],
            fails=["test_conv_backward_fast_has_no_loop_over_output_positions"]),
    Variant("fast_backward_crop_with_negative_index",
            [Edit("conv_backward_fast", "dx = dxp[:, :, pad:pad + h, pad:pad + wd]",
                  "dx = dxp[:, :, pad:-pad, pad:-pad]")],
            fails=[FAST_DX]),
    # ------------------------------------------------------------------ max pooling
    Variant("max_pool_output_size_swaps_h_and_w",
            [Edit("max_pool_forward",
                  "h_out, w_out = (h - ph) // stride + 1, (wd - pw) // stride + 1",
                  "h_out, w_out = (wd - pw) // stride + 1, (h - ph) // stride + 1")],
            fails=["test_max_pool_forward_matches_torch"]),
    Variant("max_pool_stride_is_pool_size",
            [Edit("max_pool_forward", 'pool_param["stride"]', 'pool_param["pool_height"]')],
            fails=["test_max_pool_forward_matches_torch"]),
    Variant("max_pool_swaps_height_and_width",
            [Edit("max_pool_forward", "j * stride:j * stride + pw]",
                  "j * stride:j * stride + ph]"),
             Edit("max_pool_forward", "i * stride:i * stride + ph,",
                  "i * stride:i * stride + pw,")],
            fails=["test_max_pool_forward_matches_torch"]),
    Variant("max_pool_backward_gives_every_tie",
            [Edit("max_pool_backward",
                  "            first = window.reshape(n, c, ph * pw).argmax(axis=2)  # first "
                  "maximum, row-major\n"
                  "            rows, cols = i * stride + first // pw, j * stride + first % pw\n"
                  "            dx[nn, cc, rows, cols] += dout[:, :, i, j]",
                  '''            is_max = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += \\
                is_max * dout[:, :, i, j, None, None]''')],
            fails=["test_max_pool_backward_ties_go_to_first_maximum"]),
    Variant("max_pool_backward_last_tie",
            [Edit("max_pool_backward",
                  "first = window.reshape(n, c, ph * pw).argmax(axis=2)",
                  "first = ph * pw - 1 - "
                  "window.reshape(n, c, ph * pw)[:, :, ::-1].argmax(axis=2)")],
            fails=["test_max_pool_backward_ties_go_to_first_maximum"]),
    Variant("max_pool_backward_overwrites_overlaps",
            [Edit("max_pool_backward", "dx[nn, cc, rows, cols] +=", "dx[nn, cc, rows, cols] =")],
            fails=["test_max_pool_backward_overlapping_windows_add_up"]),
    Variant("max_pool_backward_column_major_index",
            [Edit("max_pool_backward",
                  "rows, cols = i * stride + first // pw, j * stride + first % pw",
                  "rows, cols = i * stride + first % ph, j * stride + first // ph")],
            fails=["test_max_pool_backward_matches_torch"]),
    # ------------------------------------------------------------------ average pooling
    Variant("avg_pool_output_size_swaps_h_and_w",
            [Edit("avg_pool_forward",
                  "h_out, w_out = (h - ph) // stride + 1, (wd - pw) // stride + 1",
                  "h_out, w_out = (wd - pw) // stride + 1, (h - ph) // stride + 1")],
            fails=["test_avg_pool_forward_matches_torch"]),
    Variant("avg_pool_divides_by_height_only",
            [Edit("avg_pool_forward", ".mean(axis=(2, 3))", ".sum(axis=(2, 3)) / ph")],
            fails=["test_avg_pool_forward_matches_torch"]),
    Variant("avg_pool_backward_forgets_share",
            [Edit("avg_pool_backward", "share = dout / (ph * pw)", "share = dout")],
            fails=["test_avg_pool_backward_matches_torch"]),
    Variant("avg_pool_backward_overwrites_overlaps",
            [Edit("avg_pool_backward", "j * stride:j * stride + pw] += \\",
                  "j * stride:j * stride + pw] = \\")],
            fails=["test_avg_pool_backward_overlapping_windows_add_up"]),
    Variant("avg_pool_backward_divides_dout_in_place",
            [Edit("avg_pool_backward", "share = dout / (ph * pw)",
                  "dout /= ph * pw\n    share = dout")],
            fails=["test_functions_do_not_modify_inputs"]),
]

CORRECT = [
    Variant("naive_four_nested_loops", [
        Replace("conv_forward_naive", '''
def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    n_img, _, h, wd = x.shape
    n_filt, _, hh, ww = w.shape
    h_out, w_out = (h + 2 * p - hh) // s + 1, (wd + 2 * p - ww) // s + 1
    xp = np.zeros((n_img, x.shape[1], h + 2 * p, wd + 2 * p))
    xp[:, :, p:p + h, p:p + wd] = x
    out = np.empty((n_img, n_filt, h_out, w_out))
    for n in range(n_img):
        for f in range(n_filt):
            for i in range(h_out):
                for j in range(w_out):
                    patch = xp[n, :, i * s:i * s + hh, j * s:j * s + ww]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out, (xp, w, s, p, x.shape)
'''),
        Replace("conv_backward_naive", '''
def conv_backward_naive(dout, cache):
    xp, w, s, p, x_shape = cache
    n_img, n_filt, h_out, w_out = dout.shape
    hh, ww = w.shape[2:]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(n_img):
        for f in range(n_filt):
            for i in range(h_out):
                for j in range(w_out):
                    g = dout[n, f, i, j]
                    dw[f] += g * xp[n, :, i * s:i * s + hh, j * s:j * s + ww]
                    dxp[n, :, i * s:i * s + hh, j * s:j * s + ww] += g * w[f]
    h, wd = x_shape[2:]
    return dxp[:, :, p:p + h, p:p + wd], dw, dout.sum(axis=(0, 2, 3))
'''),
    ]),
    Variant("fast_with_index_arrays_and_add_at", [
        Replace("conv_forward_fast", '''
def conv_forward_fast(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out, w_out = (h + 2 * p - hh) // s + 1, (wd + 2 * p - ww) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    # rows[i, k] = i*s + k, cols[j, l] = j*s + l: every window element by fancy indexing
    rows = (s * np.arange(h_out))[:, None] + np.arange(hh)[None, :]
    cols = (s * np.arange(w_out))[:, None] + np.arange(ww)[None, :]
    patches = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, H', W', HH, WW)
    x_col = patches.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, -1)
    out = (x_col @ w.reshape(f, -1).T + b).reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2)
    return out, (x.shape, w, s, p, rows, cols, x_col)
'''),
        Replace("conv_backward_fast", '''
def conv_backward_fast(dout, cache):
    x_shape, w, s, p, rows, cols, x_col = cache
    n, c, h, wd = x_shape
    f, _, hh, ww = w.shape
    h_out, w_out = rows.shape[0], cols.shape[0]
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (d2.T @ x_col).reshape(w.shape)
    dpatch = (d2 @ w.reshape(f, -1)).reshape(n, h_out, w_out, c, hh, ww)
    dxp = np.zeros((n, c, h + 2 * p, wd + 2 * p))
    at = (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :])
    np.add.at(dxp, at, dpatch.transpose(0, 3, 1, 2, 4, 5))
    return dxp[:, :, p:p + h, p:p + wd], dw, dout.sum(axis=(0, 2, 3))
'''),
    ]),
    Variant("pooling_with_unravel_index", [
        Replace("max_pool_backward", '''
def max_pool_backward(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x.shape)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + k, j * s + l] += dout[n, c, i, j]
    return dx
'''),
        Replace("avg_pool_forward", '''
def avg_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))
    return windows[:, :, ::s, ::s].mean(axis=(4, 5)), (x.shape, pool_param)
'''),
    ]),
]
