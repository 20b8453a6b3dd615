"""The compiled convolution kernels (csrc/conv) on arrays, against the NumPy reference in
tests/conv_reference.py: every combination of stride, padding and dilation, odd and non-square
shapes, groups, both dtypes, every instruction-set path, and thread-count independence."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.functional._conv_kernels import (ConvSpec, conv_backward_input, conv_backward_weight,
                                                   conv_forward)

from _support import restore_backend  # noqa: F401 (fixture)
from conv_reference import out_size, ref_conv2d, ref_conv2d_grads

TOL = {np.float32: 2e-5, np.float64: 1e-12}


def run_case(n, cin, cout, hw, k, stride, pads, dilation, groups, dtype, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin) + hw).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + k).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    oh = out_size(hw[0], k[0], stride[0], *pads[0], dilation[0])
    ow = out_size(hw[1], k[1], stride[1], *pads[1], dilation[1])
    spec = ConvSpec(x.shape, w.shape, (n, cout, oh, ow), stride, pads, dilation, groups)
    y = conv_forward(x, w, b, spec)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = conv_backward_input(dy, w, spec)
    dw = conv_backward_weight(x, dy, spec)
    ry = ref_conv2d(x, w, b, stride, pads, dilation, groups)
    rdx, rdw = ref_conv2d_grads(x, w, dy, stride, pads, dilation, groups)
    tol = TOL[dtype]
    for ours, ref, what in ((y, ry, "y"), (dx, rdx, "dx"), (dw, rdw, "dw")):
        assert ours.dtype == dtype and ours.shape == ref.shape, what
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale, err_msg=what)
    return y, dx, dw


def same_pads(k, d):
    total = d * (k - 1)
    return (total // 2, total - total // 2)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2, "same"])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_stride_padding_dilation_grid(stride, padding, dilation):
    if padding == "same" and stride != 1:
        pytest.skip("'same' needs stride 1")
    k = (3, 2)
    pads = tuple(same_pads(kk, dilation) for kk in k) if padding == "same" else ((padding,) * 2,) * 2
    run_case(2, 3, 5, (11, 9), k, (stride, stride), pads, (dilation, dilation), 1, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    # n, cin, cout, (h, w), (kh, kw), stride, pads, dilation, groups
    (1, 1, 1, (7, 7), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),        # batch 1, single channels
    (2, 6, 4, (5, 8), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),        # 1x1
    (2, 6, 4, (5, 8), (1, 1), (2, 3), ((1, 0), (0, 2)), (1, 1), 2),        # 1x1 strided, groups 2
    (2, 3, 4, (5, 6), (7, 8), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),        # kernel == padded input
    (3, 4, 6, (9, 13), (2, 5), (2, 1), ((1, 2), (0, 3)), (2, 1), 2),       # non-square, asymmetric
    (2, 8, 8, (10, 11), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 8),      # depthwise
    (2, 4, 12, (10, 11), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 4),     # channel multiplier 3
    (2, 20, 19, (13, 17), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),    # remainder blocks
    (2, 3, 9, (31, 29), (11, 11), (4, 4), ((2, 2), (2, 2)), (1, 1), 1),    # AlexNet-like
    (2, 5, 7, (1, 37), (1, 7), (1, 2), ((0, 0), (3, 3)), (1, 4), 1),       # conv1d-like row
    (1, 2, 3, (4, 4), (5, 5), (3, 3), ((2, 2), (2, 2)), (1, 1), 1),        # stride > kernel span gaps
    (2, 2, 3, (9, 9), (1, 1), (3, 3), ((0, 0), (0, 0)), (1, 1), 1),        # planes without taps
])
def test_configurations(case, dtype):
    run_case(*case, dtype)


def test_long_kernel_splits_the_weight_gradient_into_tap_groups():
    # 300 taps x 16 input channels: with AVX-512 one item's vector sums would exceed 1 MiB, so the
    # weight gradient splits the taps into groups even on one thread
    before = ac.get_num_threads()
    try:
        ac.set_num_threads(1)
        run_case(2, 16, 8, (1, 700), (1, 300), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, np.float64)
    finally:
        ac.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_plane_backward_input_across_images(dtype):
    # planes of <= 32 vectors with N > 1 take the across-images backward-input path, which skips
    # the taps that read only dy's zero margins: batches that are not a multiple of its image
    # blocks, several input-channel blocks, groups, stride 2 (four planes) and dilation
    run_case(11, 10, 16, (14, 14), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype)
    run_case(9, 6, 8, (12, 13), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 2, dtype)
    run_case(5, 3, 4, (9, 9), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1, dtype)
    run_case(3, 2, 3, (3, 4), (3, 3), (1, 1), ((2, 2), (0, 3)), (1, 1), 1, dtype)


def test_small_plane_backward_input_does_not_depend_on_thread_count():
    before = ac.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            ac.set_num_threads(threads)
            results.append(run_case(40, 6, 16, (14, 14), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1,
                                    np.float32)[1])
    finally:
        ac.set_num_threads(before)
    assert np.array_equal(results[0], results[1])


def test_no_bias():
    run_case(2, 3, 4, (6, 7), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, np.float64, bias=False)


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
def test_every_isa_path(isa, restore_backend):
    ac.set_isa(isa)
    for dtype in (np.float32, np.float64):
        run_case(2, 5, 11, (9, 12), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(2, 4, 6, (13, 11), (3, 2), (2, 3), ((1, 2), (0, 1)), (2, 1), 2, dtype)
        run_case(1, 9, 9, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 9, dtype)
        # narrow outputs (many discarded wide-row columns) and >= 8 output channels per group:
        # the channel-vectorised forward; odd output heights, several column segments, groups
        run_case(2, 3, 16, (9, 9), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype)
        run_case(1, 4, 34, (11, 30), (3, 5), (1, 1), ((1, 0), (0, 0)), (1, 2), 2, dtype)
        run_case(2, 2, 20, (12, 12), (3, 3), (2, 2), ((1, 1), (0, 0)), (2, 2), 1, dtype)
        # rows of 3 / 5 adjacent taps (column stride and dilation 1): the row-sharing tile,
        # with a row stride and dilation, and column segments past kChanRC
        run_case(2, 3, 16, (9, 14), (3, 3), (2, 1), ((1, 1), (0, 0)), (2, 1), 1, dtype)
        run_case(1, 4, 18, (7, 30), (3, 5), (1, 1), ((1, 0), (0, 0)), (1, 1), 1, dtype)
        # 6 output channels (one weight-gradient block) and a batch the weight gradient
        # splits into two chunks of whole samples
        run_case(9, 3, 6, (12, 12), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype)
        # narrow images with many input channels: the channel-vectorised input gradient
        # (rows of 3 and 5 adjacent taps, stride 2 with its four planes of 1-4 taps, dilation,
        # groups, a remainder channel block) and 1x1 weight-gradient blocks of several input
        # channels
        run_case(2, 16, 16, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(2, 16, 8, (8, 7), (5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1, dtype)
        run_case(2, 16, 12, (16, 16), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(1, 32, 8, (9, 8), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 2, dtype)
        run_case(2, 20, 8, (6, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(2, 20, 24, (8, 8), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1, dtype)
        # 13 columns in balanced tiles of 7 or 5: the input gradient's last tile computes a
        # column past the image (its compact dy layout must hold zeros there), and the tiles
        # are transposed in groups padded with zero vectors (not a power of two)
        run_case(2, 16, 16, (7, 13), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        # narrow images with more output channels than a vector (W <= 16 lanes): the
        # channel-vectorised weight gradient on every ISA and dtype (blocks of 2-4 channel
        # vectors and a remainder vector, lanes past the last channel, balanced column
        # blocks), with stride 2, dilation, groups, 1x1 and a 1-D row
        run_case(2, 5, 40, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(3, 8, 32, (9, 10), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(2, 4, 34, (9, 9), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1, dtype)
        run_case(2, 8, 72, (6, 7), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 2, dtype)
        run_case(2, 64, 40, (5, 5), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype)
        run_case(2, 5, 33, (1, 20), (1, 5), (1, 1), ((0, 0), (2, 2)), (1, 2), 1, dtype)
        # a sample larger than a chunk: runs of whole rows (the row blocks: segments of 8
        # output columns and a remainder of 6)
        run_case(1, 16, 32, (46, 46), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        # rows of 5 adjacent taps: the row blocks (AVX-512) with KW = 5 (a segment and a remainder of 4
        # output columns, a remainder channel vector); a row stride and dilation keep them
        run_case(2, 4, 40, (10, 12), (5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1, dtype)
        run_case(2, 3, 32, (11, 9), (3, 3), (2, 1), ((1, 1), (1, 1)), (2, 1), 1, dtype)
        # at the cost model's boundary, where the path depends on the vector width: 12
        # channels on 8x8 take the wide rows with the widest vectors (16 lanes; 8 too) and the
        # channel blocks with narrower ones; 8 on 32x32 the wide rows with AVX-512's 16 lanes
        # and its row blocks with 8 (float64); 16 on 32x32 (ResNet-20 stage 1) the row blocks
        # of one channel vector with AVX-512, the wide rows on the other ISAs
        run_case(2, 6, 12, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(1, 3, 8, (32, 32), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        run_case(1, 3, 16, (32, 32), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype)
        channel_forward_cases(dtype)



# Stride-2 and -4 rows wide enough for the input copy that de-interleaves all column phases of an
# image row in one pass (split_row_phases, conv_packing.h: whole vectors from 2 and 4 vectors of
# columns on, element by element below): odd and even widths, PW0 = 0..3 (which phase takes the
# row's first image column), phases one element longer than the others, and kernels that leave
# column phases unread (1 of 2 at stride 2 with 1 column, 1 of 4 at stride 4 with 3).
@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
def test_strided_rows_every_isa(isa, restore_backend):
    ac.set_isa(isa)
    for dtype in (np.float32, np.float64):
        for stride, kw in ((2, 3), (2, 1), (4, 5), (4, 3)):
            for width in (35, 66, 131):
                for pw0 in (0, 1, 2, 3):
                    run_case(1, 2, 3, (3, width), (2, kw), (1, stride), ((1, 0), (pw0, 1)),
                             (1, 1), 1, dtype)

# Narrow images with padding and enough output channels for the channel-vectorised weight gradient,
# whose row blocks leave out the products with the padding (weight_chan_rows), as the forward's
# and the input gradient's edge tiles do (chan_tile_rows_edges): padding 1 and 2,
# asymmetric, 3x3 and 5x5, a row stride of 2 (kernel rows meet the padding at other output rows),
# output channels not a multiple of a vector. n, cin, cout, (h, w), (kh, kw), stride, pads.
PADDED_NARROW_CASES = [
    (2, 5, 20, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1))),
    (2, 5, 20, (8, 8), (3, 3), (1, 1), ((2, 2), (2, 2))),
    (2, 4, 36, (16, 16), (3, 3), (1, 1), ((1, 1), (1, 1))),
    (2, 4, 36, (16, 16), (3, 3), (1, 1), ((2, 2), (2, 2))),
    (1, 3, 24, (8, 8), (3, 3), (1, 1), ((2, 0), (0, 2))),
    (1, 3, 24, (16, 16), (5, 5), (1, 1), ((2, 2), (2, 2))),
    (1, 3, 24, (12, 12), (5, 5), (1, 1), ((1, 2), (2, 1))),
    (2, 3, 17, (16, 16), (3, 3), (2, 1), ((1, 1), (1, 1))),
    # many input channels too: the channel-vectorised input gradient's edge tiles
    # (chan_tile_rows_edges), as the forward's; 1- and 3-row images, 5x5 taps meeting 2 padding
    # rows
    (2, 40, 40, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1))),
    (1, 48, 36, (16, 16), (3, 3), (1, 1), ((2, 1), (1, 2))),
    (1, 40, 40, (3, 8), (5, 5), (1, 1), ((2, 2), (2, 2))),
    (1, 40, 40, (1, 9), (3, 3), (1, 1), ((1, 1), (1, 1))),
    (1, 40, 40, (7, 10), (3, 3), (1, 1), ((1, 1), (1, 1))),
]


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
def test_weight_gradient_with_padding_on_narrow_images_every_isa(isa, restore_backend):
    ac.set_isa(isa)
    for n, cin, cout, hw, k, stride, pads in PADDED_NARROW_CASES:
        run_case(n, cin, cout, hw, k, stride, pads, (1, 1), 1, np.float64)


# Stride 2 (and dilation 2) on narrow images with an even number of output-channel vectors on
# every ISA: the channel forward's pair tiles reading x itself (chan_tile_pair with TapSpans,
# pair_reads_image), which leave out the pixels of each tap in the padding: padding 1 and 2,
# asymmetric, odd sizes (padding at the bottom and right too), 1-row images, several column
# segments and a narrower last one. n, cin, cout, (h, w), (kh, kw), stride, pads, dilation.
STRIDE2_PADDED_NARROW_CASES = [
    (2, 16, 32, (32, 32), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    (2, 8, 64, (16, 16), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    (1, 8, 32, (15, 13), (3, 3), (2, 2), ((2, 2), (2, 2)), (1, 1)),
    (1, 8, 32, (11, 17), (5, 3), (2, 2), ((2, 0), (0, 1)), (1, 1)),
    (1, 8, 32, (2, 9), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    (1, 8, 32, (12, 14), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2)),
]


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
def test_stride_2_padded_narrow_forward_every_isa(isa, restore_backend):
    ac.set_isa(isa)
    for n, cin, cout, hw, k, stride, pads, dilation in STRIDE2_PADDED_NARROW_CASES:
        run_case(n, cin, cout, hw, k, stride, pads, dilation, 1, np.float64)


# The channel forward's row tiles reading x itself (TileEdges::inside, conv_forward_channels):
# padding of at most 1 on whole column segments (8x8, 16x16, a 1-row and a 1-column image,
# asymmetric padding, rows of 5 taps, groups, a kernel row dilation), on every ISA; and the shapes
# beside them that must keep the plane copy (padding 2, a last segment narrower than the others).
# n, cin, cout, (h, w), (kh, kw), pads, dilation, groups.
ROWS_ON_X_CASES = [
    (2, 8, 32, (8, 8), (3, 3), ((1, 1), (1, 1)), (1, 1), 1),
    (2, 6, 24, (16, 16), (3, 3), ((1, 1), (1, 1)), (1, 1), 1),
    (1, 4, 20, (1, 8), (3, 3), ((1, 1), (1, 1)), (1, 1), 1),
    (1, 4, 20, (7, 8), (3, 3), ((1, 0), (0, 1)), (1, 1), 1),
    (2, 6, 32, (8, 8), (5, 5), ((1, 1), (1, 1)), (1, 1), 2),
    (1, 5, 17, (9, 8), (3, 3), ((1, 1), (1, 1)), (2, 1), 1),
    (1, 5, 17, (8, 8), (3, 3), ((2, 2), (2, 2)), (1, 1), 1),
    (1, 5, 17, (8, 13), (3, 3), ((1, 1), (1, 1)), (1, 1), 1),
]


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_tiles_on_x_every_isa(isa, dtype, restore_backend):
    ac.set_isa(isa)
    for n, cin, cout, hw, k, pads, dilation, groups in ROWS_ON_X_CASES:
        run_case(n, cin, cout, hw, k, (1, 1), pads, dilation, groups, dtype)


# 1-D convolutions (one-row images) with the batch folded into one row (csrc/conv/conv_fold.h,
# chosen by use_fold_layout in conv_schedule.h): n, cin, cout, length, kernel, stride, padding,
# dilation, groups. Rows of 10-40 (conv1dnet's) and odd ones, strides 1-4 (the stride-2 and -4
# de-interleaving and the scalar one), dilation, groups, uneven padding, a kernel wider than the
# padded segment's tail, and rows about the decision's boundary: 16, a multiple of every vector
# width (the wide rows waste nothing: unfolded), 15 (too little saved: unfolded on the wider
# vectors), 17 (folded).
FOLD_CASES = [
    (6, 4, 8, 19, 3, 2, (1, 1), 1, 1),
    (5, 3, 7, 10, 3, 2, (1, 1), 1, 1),
    (4, 1, 8, 40, 5, 2, (1, 1), 1, 1),
    (3, 6, 9, 23, 3, 3, (2, 2), 2, 3),
    (7, 8, 8, 12, 5, 1, (3, 1), 1, 2),
    (2, 3, 5, 9, 2, 1, (0, 0), 3, 1),
    (9, 16, 20, 31, 4, 4, (2, 1), 1, 4),
    (6, 2, 3, 40, 7, 5, (3, 3), 2, 1),
    (3, 5, 5, 6, 5, 1, (2, 2), 1, 1),
    (3, 24, 16, 16, 1, 1, (0, 0), 1, 1),
    (3, 24, 16, 15, 1, 1, (0, 0), 1, 1),
    (3, 24, 16, 17, 1, 1, (0, 0), 1, 1),
    (5, 4, 6, 3, 3, 1, (0, 0), 1, 1),   # one output of three positions: folded even with
    (5, 4, 6, 5, 3, 2, (0, 0), 1, 1),   # 2-lane vectors (float64 baseline), all directions
    (1, 4, 4, 19, 3, 2, (1, 1), 1, 1),  # batch 1: nothing to fold
]


def run_case_1d(n, cin, cout, length, k, stride, pads, dilation, groups, dtype, seed=0):
    return run_case(n, cin, cout, (1, length), (1, k), (1, stride), ((0, 0), pads), (1, dilation),
                    groups, dtype, seed=seed)


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_folded_1d_convolutions_every_isa(isa, dtype, restore_backend):
    ac.set_isa(isa)
    for case in FOLD_CASES:
        run_case_1d(*case, dtype)


def test_folded_1d_convolutions_do_not_depend_on_thread_count():
    # conv1dnet's layers at batch 64 (> 1M multiply-adds: the parallel loops run), and a strided,
    # dilated, grouped one; each result bitwise the same on 1, 2, 3 and 7 threads
    before = ac.get_num_threads()
    cases = [(64, 1, 32, 40, 5, 2, (1, 1), 1, 1), (64, 32, 32, 19, 3, 2, (1, 1), 1, 1),
             (64, 32, 32, 10, 3, 2, (1, 1), 1, 1), (48, 24, 36, 29, 5, 3, (2, 1), 2, 3)]
    try:
        for case in cases:
            for dtype in (np.float32, np.float64):
                results = []
                for threads in (1, 2, 3, 7):
                    ac.set_num_threads(threads)
                    results.append(run_case_1d(*case, dtype))
                for other in results[1:]:
                    for a, b in zip(results[0], other):
                        assert np.array_equal(a, b), case
    finally:
        ac.set_num_threads(before)


def channel_forward_cases(dtype):
    """Shapes the channel-vectorised forward takes on every ISA and dtype (its cost model,
    use_channel_forward, picks it for each vector width: 16, 8, 4 and 2 lanes), one per tile and
    layout copy: its own plane copy (pack_channel_planes: strides 1, 2 and 3, asymmetric padding,
    rows shorter and longer than a vector, planes no tap reads), chan_tile_rows on rows of 5 and 3
    taps, chan_tile, and chan_tile_pair (two vectors of output channels: stride 2, dilation, 1x1)
    with one and two rows per tile, several column segments, groups, with and without a bias."""
    # rows of 5 adjacent taps, two column segments; with groups
    run_case(1, 16, 16, (8, 17), (3, 5), (1, 1), ((1, 1), (0, 0)), (1, 1), 1, dtype)
    run_case(1, 32, 32, (11, 13), (3, 5), (1, 1), ((1, 0), (0, 0)), (1, 1), 2, dtype)
    # rows of 3 adjacent taps: an odd output height; a row stride and dilation
    run_case(2, 16, 16, (7, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype, bias=False)
    run_case(2, 16, 16, (9, 14), (3, 3), (2, 1), ((1, 1), (0, 0)), (2, 1), 1, dtype)
    # stride 2, 5 output rows of 2 columns, with 16, 24, 12, 6, 32 output channels: chan_tile
    # where the channels fill an odd number of vectors, chan_tile_pair where an even one
    for cout in (16, 24, 12, 6, 32):
        run_case(2, 16, cout, (9, 4), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, dtype)
    # chan_tile_pair: groups; dilation 2 with several column segments; 1x1 stride 2 (one plane of
    # four read); stride 3 (the copy's element-by-element rows) with asymmetric padding; 5x3
    # stride 2
    run_case(2, 32, 64, (9, 4), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 2, dtype)
    run_case(2, 16, 32, (8, 13), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1, dtype)
    run_case(2, 64, 32, (6, 6), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1, dtype, bias=False)
    run_case(2, 12, 32, (10, 11), (3, 3), (3, 3), ((2, 1), (1, 2)), (1, 1), 1, dtype)
    run_case(2, 24, 32, (11, 9), (5, 3), (2, 2), ((2, 2), (1, 1)), (1, 1), 1, dtype)
    # stride 1 with asymmetric padding (no padding above, two rows below)
    run_case(2, 16, 16, (6, 6), (3, 3), (1, 1), ((0, 2), (2, 1)), (1, 1), 1, dtype)


def test_results_do_not_depend_on_thread_count():
    before = ac.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            ac.set_num_threads(threads)
            # large enough (> 1M multiply-adds) for the kernels to use their parallel loops
            results.append(run_case(4, 16, 24, (40, 36), (3, 3), (2, 1), ((1, 1), (1, 1)), (1, 2), 2,
                                    np.float32))
    finally:
        ac.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_channel_forward_does_not_depend_on_thread_count():
    before = ac.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            ac.set_num_threads(threads)
            # LeNet-like: 10 of 14 wide-row columns kept, 16 output channels, > 1M multiply-adds
            results.append(run_case(48, 6, 16, (14, 14), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1,
                                    np.float32))
    finally:
        ac.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_cifar_shapes_do_not_depend_on_thread_count():
    # each large enough (> 4M multiply-adds) for several threads: the channel-vectorised forward and
    # input gradient on 8x8 and stride-2 planes, the 1x1 weight-gradient blocks of input channels
    before = ac.get_num_threads()
    cases = [(8, 32, 32, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
             (8, 16, 32, (16, 16), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),
             (32, 32, 64, (16, 16), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),
             (8, 24, 40, (16, 16), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
             # the channel-vectorised weight gradient: a remainder channel vector, stride 2,
             # dilation with groups (float32 and float64)
             (8, 32, 48, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
             (16, 64, 40, (9, 10), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),
             (12, 32, 64, (7, 7), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 2),
             (2, 16, 32, (46, 46), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
             # ResNet-20's stride-2 3x3: the channel forward's pairs of vectors (chan_tile_pair)
             (16, 32, 64, (16, 16), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1)]
    try:
        for case in cases:
            for dtype in ((np.float32, np.float64) if case[2] in (48, 64) else (np.float32,)):
                results = []
                for threads in (1, 2, 3, 7):
                    ac.set_num_threads(threads)
                    results.append(run_case(*case, dtype))
                for other in results[1:]:
                    for a, b in zip(results[0], other):
                        assert np.array_equal(a, b), (case, dtype)
    finally:
        ac.set_num_threads(before)


def test_parallel_threads_follow_the_amount_of_work():
    from autograd_cnn import _C
    grain = _C.PARALLEL_GRAIN_WORK
    assert _C.parallel_threads(18, 1e12, 16) == 9     # 2 items each: 9 threads, not 16
    assert _C.parallel_threads(1000, 3 * grain, 16) == 3   # one thread per grain of work
    assert _C.parallel_threads(5, 1e12, 16) == 5      # one per item at most
    assert _C.parallel_threads(1000, 1.5 * grain, 16) == 1  # too little work for a region
    assert _C.parallel_threads(1, 1e12, 16) == 1
    assert _C.parallel_threads(1000, 1e12, 1) == 1
    assert _C.parallel_threads(2 ** 63 - 1, 1e12, 16) == 16  # no overflow in its arithmetic
    for items in (0, 1, 2, 3, 7, 16, 17, 100, 1001):
        for work in (0.0, grain, 2 * grain, 5.5 * grain, 40 * grain, 1e12):
            last = 1
            for cap in (1, 2, 3, 4, 7, 16, 64):
                t = _C.parallel_threads(items, work, cap)
                assert 1 <= t <= max(1, min(cap, items)), (items, work, cap, t)
                assert t == 1 or t <= work / grain, (items, work, cap, t)
                # the busiest thread gets what the most threads allowed would give it, with
                # the fewest threads that do so; more threads allowed never means fewer used
                allowed = max(1, min(cap, items, int(work // grain))) if work >= 2 * grain else 1
                span = -(-items // allowed) if items else 0
                assert items == 0 or -(-items // t) == span, (items, work, cap, t)
                assert t == 1 or -(-items // (t - 1)) > span, (items, work, cap, t)
                assert t >= last, (items, work, cap, t)
                last = t


@pytest.mark.parametrize("items,threads", [(0, 1), (5, 1), (5, 2), (7, 3), (100, 7), (3, 7)])
def test_parallel_range_splits_items_into_balanced_runs_in_order(items, threads):
    from autograd_cnn import _C
    runs = [_C.parallel_range(items, threads, k) for k in range(threads)]
    assert runs[0][0] == 0 and runs[-1][1] == items
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
    sizes = [e - b for b, e in runs]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1


def test_nan_and_inf_propagate():
    x = np.ones((1, 1, 5, 5))
    x[0, 0, 2, 2] = np.nan
    x[0, 0, 0, 0] = np.inf
    w = np.ones((1, 1, 3, 3))
    spec = ConvSpec(x.shape, w.shape, (1, 1, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    y = conv_forward(x, w, None, spec)
    assert np.isnan(y).all()  # every window sees the NaN; the Inf window also sees it
    ref = ref_conv2d(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("case", [
    # n, cin, cout, (h, w), (kh, kw), stride, pads, dilation, groups
    (1, 2, 3, (6, 7), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    (3, 2, 4, (6, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),     # small-plane path
    (2, 4, 4, (9, 11), (3, 2), (2, 2), ((1, 1), (0, 1)), (1, 2), 2),
    (2, 3, 5, (40, 36), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),   # large planes
    (2, 3, 40, (8, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),    # channel weight gradient
    (4, 3, 5, (1, 19), (1, 3), (1, 2), ((0, 0), (1, 1)), (1, 1), 1),    # 1-D: the folded layout
    (2, 5, 7, (7, 9), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),     # 1x1: matrix products
])
def test_non_finite_values_never_meet_structural_zeros(case, isa, restore_backend):
    """The backward kernels' wide layouts hold zeros (padding margins, discarded columns) that the
    true gradient never multiplies: an Inf input pixel or weight must give what the plain sum of
    the real terms gives (NumPy reference, which forms only those; PyTorch agrees), not NaN."""
    n, cin, cout, hw, k, stride, pads, dilation, groups = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, cin) + hw)
    w = rng.standard_normal((cout, cin // groups) + k)
    x[0, 0, hw[0] // 2, hw[1] - 1] = np.inf  # last column: meets the discarded wide columns
    x[-1, -1, 0, 0] = -np.inf
    w[0, 0, 0, 0] = np.inf
    w[-1, -1, -1, -1] = -np.inf
    oh = out_size(hw[0], k[0], stride[0], *pads[0], dilation[0])
    ow = out_size(hw[1], k[1], stride[1], *pads[1], dilation[1])
    dy = rng.standard_normal((n, cout, oh, ow))
    spec = ConvSpec(x.shape, w.shape, dy.shape, stride, pads, dilation, groups)
    rdx, rdw = ref_conv2d_grads(x, w, dy, stride, pads, dilation, groups)
    ac.set_isa(isa)
    dx = conv_backward_input(dy, w, spec)
    dw = conv_backward_weight(x, dy, spec)
    for ours, ref in ((dx, rdx), (dw, rdw)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(ours[fin], ref[fin], rtol=1e-10, atol=1e-10)


def _ref_forward_real_terms(x, w, stride, pads, dilation):
    """conv2d (groups 1) summing only the products with real input pixels (padding never
    multiplies a weight): the plain sum the exact mode must give for non-finite weights."""
    n, cin, h, wd = x.shape
    cout, _, khs, kws = w.shape
    oh = out_size(h, khs, stride[0], *pads[0], dilation[0])
    ow = out_size(wd, kws, stride[1], *pads[1], dilation[1])
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    real = np.pad(np.ones_like(x, dtype=bool), ((0, 0), (0, 0)) + tuple(pads))
    y = np.zeros((n, cout, oh, ow))
    for kh in range(khs):
        for kw in range(kws):
            hs = slice(kh * dilation[0], kh * dilation[0] + (oh - 1) * stride[0] + 1, stride[0])
            ws = slice(kw * dilation[1], kw * dilation[1] + (ow - 1) * stride[1] + 1, stride[1])
            with np.errstate(invalid="ignore"):  # inf * 0 at padding: discarded just below
                prod = xp[:, None, :, hs, ws] * w[None, :, :, kh, kw, None, None]  # (n, o, c, oh, ow)
            y += np.where(real[:, None, :, hs, ws], prod, 0).sum(axis=2)
    return y


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("cfg", [
    ((2, 3, 6, 6), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((2, 2, 9, 11), (16, 2, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1)),  # channel-path shape
    ((1, 2, 12, 13), (3, 2, 3, 3), (2, 2), ((1, 2), (0, 1)), (1, 2)),
    ((4, 3, 1, 19), (5, 3, 1, 3), (1, 2), ((0, 0), (1, 1)), (1, 1)),  # 1-D: the folded layout
])
def test_forward_non_finite_weights_never_meet_padding(cfg, isa, restore_backend):
    xs, wsh, stride, pads, dilation = cfg
    rng = np.random.default_rng(11)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(wsh)
    w[0, 0, 0, 0] = np.inf
    w[-1, -1, -1, -1] = -np.inf
    y_shape = (xs[0], wsh[0], out_size(xs[2], wsh[2], stride[0], *pads[0], dilation[0]),
               out_size(xs[3], wsh[3], stride[1], *pads[1], dilation[1]))
    spec = ConvSpec(x.shape, w.shape, y_shape, stride, pads, dilation, 1)
    ref = _ref_forward_real_terms(x, w, stride, pads, dilation)
    ac.set_isa(isa)
    y = conv_forward(x, w, None, spec)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(y[fin], ref[fin], rtol=1e-10, atol=1e-10)


def _ref_weight_grad_real_terms(x, dy, khs, kws, stride, pads, dilation):
    """The weight gradient (groups 1) summing only products with real input pixels."""
    n, cin, h, wd = x.shape
    _, cout, oh, ow = dy.shape
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    real = np.pad(np.ones_like(x, dtype=bool), ((0, 0), (0, 0)) + tuple(pads))
    dw = np.zeros((cout, cin, khs, kws))
    for kh in range(khs):
        for kw in range(kws):
            hs = slice(kh * dilation[0], kh * dilation[0] + (oh - 1) * stride[0] + 1, stride[0])
            ws = slice(kw * dilation[1], kw * dilation[1] + (ow - 1) * stride[1] + 1, stride[1])
            with np.errstate(invalid="ignore"):  # inf * 0 at padding: discarded just below
                prod = dy[:, :, None] * xp[:, None, :, hs, ws]  # (n, o, c, oh, ow)
            dw[:, :, kh, kw] = np.where(real[:, None, :, hs, ws], prod, 0).sum(axis=(0, 3, 4))
    return dw


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("cfg", [
    ((2, 3, 6, 7), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((2, 4, 20, 20), (8, 4, 5, 5), (2, 2), ((2, 2), (2, 2)), (1, 1)),
    ((1, 2, 12, 13), (3, 2, 3, 3), (1, 2), ((2, 1), (0, 3)), (2, 1)),
    # the channel-vectorised weight gradient (which multiplies the input's padding: its NaN
    # result sends the call to the exact wide-row pass)
    ((2, 3, 8, 8), (40, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((4, 3, 1, 19), (5, 3, 1, 3), (1, 2), ((0, 0), (1, 1)), (1, 1)),  # 1-D: the folded layout
])
def test_weight_gradient_inf_output_gradient_never_meets_padding(cfg, isa, restore_backend):
    xs, wsh, stride, pads, dilation = cfg
    rng = np.random.default_rng(13)
    x = rng.standard_normal(xs)
    oh = out_size(xs[2], wsh[2], stride[0], *pads[0], dilation[0])
    ow = out_size(xs[3], wsh[3], stride[1], *pads[1], dilation[1])
    dy = rng.standard_normal((xs[0], wsh[0], oh, ow))
    dy[0, 0, 0, 0] = np.inf  # a corner: its window reaches the padding
    dy[-1, -1, -1, -1] = -np.inf
    spec = ConvSpec(x.shape, wsh, dy.shape, stride, pads, dilation, 1)
    ref = _ref_weight_grad_real_terms(x, dy, wsh[2], wsh[3], stride, pads, dilation)
    ac.set_isa(isa)
    dw = conv_backward_weight(x, dy, spec)
    np.testing.assert_array_equal(np.isnan(dw), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(dw), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(dw[fin], ref[fin], rtol=1e-10, atol=1e-10)


# 1x1 kernels without padding run as matrix products (csrc/conv/conv_1x1.h): n, cin, cout, (h, w),
# stride, groups. Strides 1, 2, 3 and mixed; pixel counts that are whole vectors of every width
# (read in place) and odd ones (copied into rows of whole vectors), fewer pixels than a vector;
# channel counts that leave remainder row blocks and remainder channel vectors; groups; a 1-D row;
# the last three (input channels in vectors, conv1x1_backward_weight_r) with more samples than one
# chunk of the weight gradient's sums holds, on every ISA's vector width (the last chunk partial;
# odd pixels past the transposed squares; groups).
CASES_1X1 = [
    (2, 6, 4, (5, 8), (1, 1), 1),
    (3, 16, 32, (8, 8), (1, 1), 1),
    (2, 17, 29, (7, 9), (3, 2), 1),
    (2, 12, 18, (16, 16), (2, 2), 3),
    (2, 64, 40, (5, 5), (1, 1), 1),
    (2, 8, 50, (3, 3), (1, 1), 2),
    (1, 5, 7, (1, 33), (1, 1), 1),
    (3, 24, 26, (9, 13), (3, 3), 1),
    (2, 40, 16, (16, 16), (2, 2), 1),
    (4, 33, 70, (8, 8), (1, 1), 1),
    (20, 48, 20, (16, 16), (1, 1), 1),
    (24, 40, 14, (9, 13), (1, 1), 1),
    (12, 96, 20, (16, 16), (1, 1), 2),
]


def run_case_1x1(n, cin, cout, hw, stride, groups, dtype, seed=0, bias=True):
    return run_case(n, cin, cout, hw, (1, 1), stride, ((0, 0), (0, 0)), (1, 1), groups, dtype,
                    seed=seed, bias=bias)


@pytest.mark.parametrize("isa", ac.backend_info()["available_isas"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1x1_matrix_products_every_isa(isa, dtype, restore_backend):
    ac.set_isa(isa)
    for case in CASES_1X1:
        run_case_1x1(*case, dtype)
    run_case_1x1(2, 10, 12, (6, 7), (2, 1), 2, dtype, bias=False)
    # dilation changes nothing for a 1x1 kernel; padding takes the general kernels (the
    # boundary of the 1x1 path)
    run_case(2, 9, 11, (7, 8), (1, 1), (2, 2), ((0, 0), (0, 0)), (3, 2), 1, dtype)
    run_case(2, 9, 11, (7, 8), (1, 1), (2, 1), ((1, 0), (0, 1)), (1, 1), 1, dtype)


def test_1x1_does_not_depend_on_thread_count():
    # large enough (> 1M multiply-adds) for the parallel loops: CIFAR's 1x1 projection and its
    # stride-2 shortcuts, odd pixels with groups; each result bitwise the same on 1, 2, 3 and 7
    # threads
    before = ac.get_num_threads()
    cases = [(16, 128, 256, (8, 8), (1, 1), 1), (16, 16, 32, (32, 32), (2, 2), 1),
             (16, 32, 64, (16, 16), (2, 2), 1), (12, 36, 60, (9, 11), (1, 1), 3)]
    try:
        for case in cases:
            for dtype in (np.float32, np.float64):
                results = []
                for threads in (1, 2, 3, 7):
                    ac.set_num_threads(threads)
                    results.append(run_case_1x1(*case, dtype))
                for other in results[1:]:
                    for a, b in zip(results[0], other):
                        assert np.array_equal(a, b), (case, dtype)
    finally:
        ac.set_num_threads(before)
