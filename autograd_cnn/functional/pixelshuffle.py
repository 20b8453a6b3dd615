"""``pixel_shuffle`` / ``pixel_unshuffle`` (Shi et al., 2016, sub-pixel convolution): move
factors of the channel axis into space and back. For an upscale factor r::

    (*, C * r^2, H, W)  --pixel_shuffle-->  (*, C, H * r, W * r)
    out[..., c, h * r + i, w * r + j] = in[..., c * r^2 + i * r + j, h, w]

``pixel_unshuffle`` is the inverse. Each is one reshape, one permutation of axes and one
reshape, so autograd differentiates them (the gradient of each is the other).
"""
import numbers

from ..autograd import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(fn, input, factor, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise ValueError(f"{fn}: input must have at least 3 axes (*, C, H, W), got shape "
                         f"{tuple(input.shape)}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r). Same as torch.nn.functional.pixel_shuffle."""
    r = _check("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: the channel axis ({c}, axis -3 of shape "
                         f"{tuple(input.shape)}) must be divisible by upscale_factor^2 "
                         f"({r * r})")
    k = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W). Same as
    torch.nn.functional.pixel_unshuffle."""
    r = _check("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: height and width ({h}, {w}) must be divisible by "
                         f"downscale_factor ({r})")
    k = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))
