"""Grad mode: the global switch that decides whether operations record a graph.

When grad mode is on (the default), every operation on a Tensor that requires grad remembers
how it was computed, so that ``backward()`` can later walk back through it. Inside ``no_grad()``
nothing is recorded: results never require grad, which saves memory and time at inference and
inside optimizer updates.

``no_grad`` and ``enable_grad`` work both as context managers and as decorators::

    with autograd_cnn.no_grad():
        y = model(x)            # no graph is built

    @autograd_cnn.no_grad()
    def evaluate(model, x): ...

The switch is a single process-wide flag (PyTorch keeps one per thread; this engine keeps it
simple because it is read on every operation and a plain attribute is the cheapest thing to read).
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class _GradState:
    """Holds the flag. Ops read ``_state.enabled`` directly: one attribute load per op."""

    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


_state = _GradState()


def is_grad_enabled():
    """True when operations currently record the graph for backward."""
    return _state.enabled


class _GradModeContext:
    """Base of the context managers below: sets the flag on enter, restores it on exit, and
    wraps functions when used as a decorator (with or without parentheses)."""

    _mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        self._prev = []
        if func is not None:  # used as ``@no_grad`` without parentheses
            if not callable(func):
                raise TypeError(f"{cls.__name__}() takes no arguments, got {func!r}")
            return self(func)
        return self

    def __enter__(self):
        self._prev.append(_state.enabled)
        _state.enabled = self._mode
        return self

    def __exit__(self, exc_type, exc, tb):
        _state.enabled = self._prev.pop()
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = _state.enabled
            _state.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Context manager / decorator that disables graph recording."""

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator that re-enables graph recording (e.g. inside ``no_grad``)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(mode)``: set grad mode to ``mode``; as a context manager the previous
    mode comes back on exit. Called as a plain function it simply sets the mode."""

    def __new__(cls, mode):
        self = object.__new__(cls)
        self._prev = [_state.enabled]
        self._mode = bool(mode)
        _state.enabled = self._mode
        return self

    def __enter__(self):
        return self  # the mode was already set when the object was created

    def __exit__(self, exc_type, exc, tb):
        _state.enabled = self._prev.pop()
        return False
