# Per-channel kernels (csrc/channel/channel.h): batch norm's statistics, its gradient sums, and the
# broadcast scale-and-shift y = (x - shift[c]) * scale[c] + bias[c] (+ g * gscale[c]).
#
# Arrays come as C-contiguous (N, C, L) views (the Python side reshapes), per-channel vectors as
# (C,). An optional argument is given as an EMPTY array (size 0) of the same dtype, never None
# (the fused-type dispatch needs an array to pick float or double): it stands for "absent".
from libc.stdint cimport int64_t

cdef extern from "channel/channel.h" namespace "acnn" nogil:
    void channel_moments_c "acnn::channel_moments"[T](const T* x, int64_t N, int64_t C, int64_t L,
                                                      T* mean, T* var)
    void channel_sums_c "acnn::channel_sums"[T](const T* g, const T* x, const T* shift, int64_t N,
                                                int64_t C, int64_t L, T* sum_g, T* sum_gx)
    void channel_affine_c "acnn::channel_affine"[T](const T* x, const T* shift, const T* scale,
                                                    const T* bias, const T* g, const T* gscale,
                                                    int64_t N, int64_t C, int64_t L, T* y)


cdef inline int _check_vec(str fn, str name, int64_t got, int64_t C, bint optional) except -1:
    if got != C and not (optional and got == 0):
        raise ValueError(f"{fn}: {name} must have {C} elements"
                         f"{' (or 0 for none)' if optional else ''}, got {got}")
    return 0


def channel_moments(const real[:, :, ::1] x, real[::1] mean, real[::1] var):
    """mean[c] and biased var[c] of x[:, c, :] (N * L > 0); the same bits on any thread count."""
    cdef int64_t N = x.shape[0], C = x.shape[1], L = x.shape[2]
    _check_vec("channel_moments", "mean", mean.shape[0], C, False)
    _check_vec("channel_moments", "var", var.shape[0], C, False)
    if N == 0 or L == 0:
        raise ValueError(f"channel_moments: x must have values in each channel, got shape "
                         f"({N}, {C}, {L})")
    if C == 0:
        return
    with nogil:
        channel_moments_c(&x[0, 0, 0], N, C, L, &mean[0], &var[0])


def channel_sums(const real[:, :, ::1] g, const real[:, :, ::1] x, const real[::1] shift,
                 real[::1] sum_g, real[::1] sum_gx):
    """sum_g[c] = g[:, c, :].sum(); sum_gx[c] = (g * (x - shift[c]))[:, c, :].sum(); shift may be
    empty (0). (The sum of g alone is channel_sum.)"""
    cdef int64_t N = g.shape[0], C = g.shape[1], L = g.shape[2]
    if x.shape[0] != N or x.shape[1] != C or x.shape[2] != L:
        raise ValueError(f"channel_sums: x must have g's shape ({N}, {C}, {L}), got "
                         f"({x.shape[0]}, {x.shape[1]}, {x.shape[2]})")
    _check_vec("channel_sums", "sum_g", sum_g.shape[0], C, False)
    _check_vec("channel_sums", "sum_gx", sum_gx.shape[0], C, False)
    _check_vec("channel_sums", "shift", shift.shape[0], C, True)
    if C == 0:
        return
    if N == 0 or L == 0:
        sum_g[:] = 0
        sum_gx[:] = 0
        return
    cdef const real* sp = &shift[0] if shift.shape[0] else NULL
    with nogil:
        channel_sums_c(&g[0, 0, 0], &x[0, 0, 0], sp, N, C, L, &sum_g[0], &sum_gx[0])


def channel_affine(const real[:, :, ::1] x, const real[::1] shift, const real[::1] scale,
                   const real[::1] bias, const real[:, :, ::1] g, const real[::1] gscale,
                   real[:, :, ::1] y):
    """y = (x - shift[c]) * scale[c] + bias[c] + g * gscale[c] over an (N, C, L) array; shift,
    bias and g (with gscale) may be empty (absent). y may be x or g (in place)."""
    cdef int64_t N = x.shape[0], C = x.shape[1], L = x.shape[2]
    cdef bint has_g = g.shape[0] * g.shape[1] * g.shape[2] != 0 or gscale.shape[0] != 0
    if y.shape[0] != N or y.shape[1] != C or y.shape[2] != L:
        raise ValueError(f"channel_affine: y must have x's shape ({N}, {C}, {L}), got "
                         f"({y.shape[0]}, {y.shape[1]}, {y.shape[2]})")
    _check_vec("channel_affine", "scale", scale.shape[0], C, False)
    _check_vec("channel_affine", "shift", shift.shape[0], C, True)
    _check_vec("channel_affine", "bias", bias.shape[0], C, True)
    if has_g:
        if g.shape[0] != N or g.shape[1] != C or g.shape[2] != L:
            raise ValueError(f"channel_affine: g must have x's shape ({N}, {C}, {L}), got "
                             f"({g.shape[0]}, {g.shape[1]}, {g.shape[2]})")
        _check_vec("channel_affine", "gscale", gscale.shape[0], C, False)
    if N == 0 or C == 0 or L == 0:
        return
    cdef const real* sp = &shift[0] if shift.shape[0] else NULL
    cdef const real* bp = &bias[0] if bias.shape[0] else NULL
    cdef const real* gp = &g[0, 0, 0] if has_g else NULL
    cdef const real* kp = &gscale[0] if has_g else NULL
    with nogil:
        channel_affine_c(&x[0, 0, 0], sp, &scale[0], bp, gp, kp, N, C, L, &y[0, 0, 0])
