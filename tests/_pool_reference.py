"""Small NumPy reference implementations of pooling for the tests, written from PyTorch's
definitions (not from our kernels): loops over output positions and window taps, vectorised over
the planes only. Inputs are (..., H, W) arrays; 1-d pooling is the H = 1 case."""
import numpy as np


def out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (pooling_output_shape)."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    o = num // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _windows(n, k, s, p, d, ceil_mode):
    """Per output position: (taps inside the input, taps inside the padded input)."""
    out = []
    for o in range(out_size(n, k, s, p, d, ceil_mode)):
        taps = [o * s - p + t * d for t in range(k)]
        out.append(([i for i in taps if 0 <= i < n], sum(1 for i in taps if i < n + p)))
    return out


def _adaptive_windows(n, m):
    out = []
    for o in range(m):
        start, end = (o * n) // m, -(-((o + 1) * n) // m)
        out.append((list(range(start, end)), end - start))
    return out


def _planes(x):
    return x.reshape((-1,) + x.shape[-2:])


def _max(x, rows, cols):
    X = _planes(x)
    P, H, W = X.shape
    y = np.empty((P, len(rows), len(cols)), x.dtype)
    idx = np.empty((P, len(rows), len(cols)), np.int64)
    for oh, (rr, _) in enumerate(rows):
        for ow, (cc, _) in enumerate(cols):
            best = np.full(P, -np.inf, x.dtype)
            at = np.full(P, rr[0] * W + cc[0], np.int64)
            for ih in rr:
                for iw in cc:
                    v = X[:, ih, iw]
                    take = (v > best) | np.isnan(v)  # PyTorch: val > maxval || isnan(val)
                    best = np.where(take, v, best)
                    at = np.where(take, ih * W + iw, at)
            y[:, oh, ow], idx[:, oh, ow] = best, at
    shape = x.shape[:-2] + (len(rows), len(cols))
    return y.reshape(shape), idx.reshape(shape)


def _avg(x, rows, cols, count_include_pad, divisor_override):
    X = _planes(x)
    P = X.shape[0]
    y = np.empty((P, len(rows), len(cols)), x.dtype)
    for oh, (rr, rpad) in enumerate(rows):
        for ow, (cc, cpad) in enumerate(cols):
            s = np.zeros(P, x.dtype)
            for ih in rr:
                for iw in cc:
                    s = s + X[:, ih, iw]
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = rpad * cpad
            else:
                div = len(rr) * len(cc)
            y[:, oh, ow] = s / x.dtype.type(div)
    return y.reshape(x.shape[:-2] + (len(rows), len(cols)))


def max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, flat indices) of 2-d max pooling of (..., H, W)."""
    k, s = _pair(kernel), _pair(stride if stride is not None else kernel)
    p, d = _pair(padding), _pair(dilation)
    rows = _windows(x.shape[-2], k[0], s[0], p[0], d[0], ceil_mode)
    cols = _windows(x.shape[-1], k[1], s[1], p[1], d[1], ceil_mode)
    return _max(x, rows, cols)


def avg_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
             count_include_pad=True, divisor_override=None):
    k, s = _pair(kernel), _pair(stride if stride is not None else kernel)
    p, d = _pair(padding), _pair(dilation)
    rows = _windows(x.shape[-2], k[0], s[0], p[0], d[0], ceil_mode)
    cols = _windows(x.shape[-1], k[1], s[1], p[1], d[1], ceil_mode)
    return _avg(x, rows, cols, count_include_pad, divisor_override)


def adaptive_max_pool(x, out):
    return _max(x, _adaptive_windows(x.shape[-2], out[0]), _adaptive_windows(x.shape[-1], out[1]))


def adaptive_avg_pool(x, out):
    rows, cols = _adaptive_windows(x.shape[-2], out[0]), _adaptive_windows(x.shape[-1], out[1])
    return _avg(x, rows, cols, True, None)


def scatter(gy, idx, in_shape):
    """Max pooling's backward: gy added at the flat indices of each plane."""
    P = int(np.prod(in_shape[:-2]))
    g = np.zeros((P, in_shape[-2] * in_shape[-1]), gy.dtype)
    flat_g, flat_i = gy.reshape(P, -1), idx.reshape(P, -1)
    for p in range(P):
        np.add.at(g[p], flat_i[p], flat_g[p])
    return g.reshape(in_shape)


def avg_pool_grad(gy, x_shape, **kw):
    """Average pooling's backward through its adjoint: column j of the matrix is avg_pool(e_j)."""
    H, W = x_shape[-2:]
    eye = np.eye(H * W, dtype=gy.dtype).reshape(H * W, H, W)
    A = avg_pool(eye, **kw).reshape(H * W, -1)  # (H*W, out)
    P = int(np.prod(x_shape[:-2]))
    return (gy.reshape(P, -1) @ A.T).reshape(x_shape)
