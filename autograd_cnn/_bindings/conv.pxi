# Convolution (csrc/conv/conv.h). Arguments are validated in autograd_cnn/functional/conv.py; these
# functions only re-check shapes cheaply (so nothing reaching C++ can index out of bounds) and
# release the GIL around the kernels. All work in 2-D; conv1d passes height-1 images.
from libc.stdint cimport int64_t

cdef extern from "conv/conv.h" namespace "acnn" nogil:
    cdef struct ConvGeom:
        int64_t N, C_in, H, W
        int64_t C_out, G
        int64_t KH, KW
        int64_t SH, SW, DH, DW
        int64_t PH0, PH1, PW0, PW1
        int64_t OH, OW
    void conv2d_forward[T](const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) except +
    void conv2d_backward_input[T](const ConvGeom& g, const T* dy, const T* w, T* dx) except +
    void conv2d_backward_weight[T](const ConvGeom& g, const T* x, const T* dy, T* dw) except +


cdef ConvGeom _conv_geom(Py_ssize_t* xshape, Py_ssize_t* wshape, Py_ssize_t* yshape, int64_t groups,
                         tuple params) except *:
    """Fill and check a ConvGeom; params = (SH, SW, DH, DW, PH0, PH1, PW0, PW1)."""
    cdef ConvGeom g
    g.N, g.C_in, g.H, g.W = xshape[0], xshape[1], xshape[2], xshape[3]
    g.C_out, g.KH, g.KW = wshape[0], wshape[2], wshape[3]
    g.G = groups
    g.SH, g.SW, g.DH, g.DW, g.PH0, g.PH1, g.PW0, g.PW1 = params
    g.OH, g.OW = yshape[2], yshape[3]
    if (g.G < 1 or g.C_in % g.G or g.C_out % g.G or wshape[1] != g.C_in // g.G
            or g.SH < 1 or g.SW < 1 or g.DH < 1 or g.DW < 1
            or g.PH0 < 0 or g.PH1 < 0 or g.PW0 < 0 or g.PW1 < 0 or g.KH < 1 or g.KW < 1
            or yshape[0] != g.N or yshape[1] != g.C_out or g.N < 1 or g.C_in < 1 or g.C_out < 1
            or g.H < 1 or g.W < 1):
        raise ValueError("conv kernel: inconsistent geometry")
    if (g.OH < 1 or g.OW < 1
            or g.OH != (g.H + g.PH0 + g.PH1 - g.DH * (g.KH - 1) - 1) // g.SH + 1
            or g.OW != (g.W + g.PW0 + g.PW1 - g.DW * (g.KW - 1) - 1) // g.SW + 1):
        raise ValueError("conv kernel: output shape does not match the geometry")
    return g


def conv2d_forward_kernel(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w, const real[::1] bias,
                          real[:, :, :, ::1] y, int64_t groups, tuple params):
    """y = conv(x, w) (+ bias when bias has C_out elements; pass an empty array for none)."""
    cdef ConvGeom g = _conv_geom(x.shape, w.shape, y.shape, groups, params)
    cdef const real* bp = NULL
    if bias.shape[0] == g.C_out:
        bp = &bias[0]
    elif bias.shape[0] != 0:
        raise ValueError("conv kernel: bias length")
    with nogil:
        conv2d_forward(g, &x[0, 0, 0, 0], &w[0, 0, 0, 0], bp, &y[0, 0, 0, 0])


def conv2d_backward_input_kernel(const real[:, :, :, ::1] dy, const real[:, :, :, ::1] w,
                                 real[:, :, :, ::1] dx, int64_t groups, tuple params):
    """dx = conv_transpose(dy, w): the gradient of conv(x, w) with respect to x."""
    cdef ConvGeom g = _conv_geom(dx.shape, w.shape, dy.shape, groups, params)
    with nogil:
        conv2d_backward_input(g, &dy[0, 0, 0, 0], &w[0, 0, 0, 0], &dx[0, 0, 0, 0])


def conv2d_backward_weight_kernel(const real[:, :, :, ::1] x, const real[:, :, :, ::1] dy,
                                  real[:, :, :, ::1] dw, int64_t groups, tuple params):
    """dw: the gradient of conv(x, w) with respect to w."""
    cdef ConvGeom g = _conv_geom(x.shape, dw.shape, dy.shape, groups, params)
    with nogil:
        conv2d_backward_weight(g, &x[0, 0, 0, 0], &dy[0, 0, 0, 0], &dw[0, 0, 0, 0])


cdef extern from "common/parallel.h" namespace "acnn" nogil:
    int c_parallel_threads "acnn::parallel_threads"(int64_t items, double work, int max_threads)
    void c_parallel_range "acnn::parallel_range"(int64_t items, int threads, int k, int64_t* begin,
                                                  int64_t* end)
    double c_grain_work "acnn::kGrainWork"


PARALLEL_GRAIN_WORK = c_grain_work


def parallel_threads(int64_t items, double work, int max_threads):
    """The threads a parallel loop of ``items`` work items and ``work`` multiply-adds (or elements
    moved) runs on with at most ``max_threads`` (csrc/common/parallel.h): exposed for the tests."""
    if items < 0 or max_threads < 1 or not work >= 0:
        raise ValueError("parallel_threads: items >= 0, work >= 0, max_threads >= 1 needed")
    return c_parallel_threads(items, work, max_threads)


def parallel_range(int64_t items, int threads, int k):
    """The items [begin, end) thread ``k`` of ``threads`` takes in such a loop."""
    cdef int64_t begin, end
    if items < 0 or threads < 1 or not 0 <= k < threads:
        raise ValueError("parallel_range: items >= 0, threads >= 1, 0 <= k < threads needed")
    c_parallel_range(items, threads, k, &begin, &end)
    return begin, end
