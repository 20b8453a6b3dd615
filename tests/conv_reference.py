"""A small NumPy reference for 2-D convolution and its two gradients, written independently of
the library's kernels: a loop over the kernel taps, each adding one strided slice of the padded
input times one weight matrix (per group). conv1d is tested as the height-1 case through the
public API. Used by tests/test_conv*.py."""
import numpy as np


def out_size(size, k, s, lo, hi, d):
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _tap_slices(kh, kw, stride, dilation, oh, ow):
    (sh, sw), (dh, dw) = stride, dilation
    return (slice(kh * dh, kh * dh + sh * (oh - 1) + 1, sh),
            slice(kw * dw, kw * dw + sw * (ow - 1) + 1, sw))


def ref_conv2d(x, w, b, stride, pads, dilation, groups):
    """pads = ((top, bottom), (left, right))."""
    n, cin, h, wd = x.shape
    cout, cig, khs, kws = w.shape
    oh = out_size(h, khs, stride[0], *pads[0], dilation[0])
    ow = out_size(wd, kws, stride[1], *pads[1], dilation[1])
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    y = np.zeros((n, cout, oh, ow), np.float64)
    cog = cout // groups
    for g in range(groups):
        xs = xp[:, g * cig:(g + 1) * cig].astype(np.float64)
        ws = w[g * cog:(g + 1) * cog].astype(np.float64)
        for kh in range(khs):
            for kw in range(kws):
                sl = _tap_slices(kh, kw, stride, dilation, oh, ow)
                y[:, g * cog:(g + 1) * cog] += np.einsum("nchw,oc->nohw", xs[:, :, sl[0], sl[1]], ws[:, :, kh, kw])
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


def ref_conv2d_grads(x, w, dy, stride, pads, dilation, groups):
    """(dx, dw) of sum(conv(x, w) * dy): the adjoint of ref_conv2d, tap by tap."""
    n, cin, h, wd = x.shape
    cout, cig, khs, kws = w.shape
    oh, ow = dy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads)).astype(np.float64)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape, np.float64)
    dy = dy.astype(np.float64)
    cog = cout // groups
    for g in range(groups):
        cs, os_ = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
        for kh in range(khs):
            for kw in range(kws):
                sl = _tap_slices(kh, kw, stride, dilation, oh, ow)
                dxp[:, cs, sl[0], sl[1]] += np.einsum("nohw,oc->nchw", dy[:, os_], w[os_, :, kh, kw].astype(np.float64))
                dw[os_, :, kh, kw] = np.einsum("nohw,nchw->oc", dy[:, os_], xp[:, cs, sl[0], sl[1]])
    (t, bo), (l, r) = pads
    dx = dxp[:, :, t:t + h, l:l + wd]
    return dx, dw
