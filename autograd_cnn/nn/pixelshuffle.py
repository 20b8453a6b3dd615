"""``PixelShuffle`` and ``PixelUnshuffle``: modules around
:func:`autograd_cnn.functional.pixel_shuffle` / ``pixel_unshuffle``."""
from ..functional import pixelshuffle as F
from .module import Module
from ._utils import check_positive_int

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r) with r = ``upscale_factor``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = check_positive_int(upscale_factor, "upscale_factor",
                                                 "PixelShuffle")

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W) with r = ``downscale_factor``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = check_positive_int(downscale_factor, "downscale_factor",
                                                   "PixelUnshuffle")

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
