"""Stateless differentiable functions on Tensors, in PyTorch's ``torch.nn.functional`` style.

Each group lives in its own module: activations, convolution, pooling, losses."""
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .conv_transpose import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .smooth_activation import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .dropout_ops import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .encoding import *  # noqa: F401,F403
from .piecewise_activation import *  # noqa: F401,F403
