"""autograd_cnn: a small, fast, readable autograd engine for convolutional networks."""
from .backend import backend_info, get_isa, get_num_threads, set_isa, set_num_threads

__version__ = "0.1.0"
