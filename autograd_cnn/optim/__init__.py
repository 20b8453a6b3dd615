"""Optimizers and learning-rate schedulers (PyTorch's ``torch.optim`` update rules)."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]

# issue 15 (PyTorch porting)
from .adadelta import Adadelta
from .adagrad import Adagrad

__all__ += ["Adadelta", "Adagrad"]
