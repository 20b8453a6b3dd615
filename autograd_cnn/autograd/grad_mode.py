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

The switch is kept per thread, like PyTorch's.
"""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]


class _GradState(threading.local):
    """Holds the flag, one per thread (every new thread starts with grad enabled, as in
    PyTorch), so a ``no_grad()`` in a data-loading thread cannot switch off recording in the
    training thread. Ops read ``_state.enabled`` directly: one attribute load per op.

    ``arrays`` is the engine's, not a user switch: True while it runs a backward on plain
    ndarrays (see autograd/function.py, "Two worlds"); ``Function.apply`` then computes on the
    arrays it is given and records nothing.

    ``keep_inputs`` is the exporters': while True, every recorded node also keeps the arguments
    its Function was applied to (``ctx.inputs``: constants and settings such as a convolution's
    geometry), so the graph can be written out whole (autograd_cnn/onnx/exporter.py). Off
    otherwise, so a training graph holds no more than backward needs."""

    def __init__(self):
        self.enabled = True
        self.arrays = False
        self.keep_inputs = False
        self.inference = False


_state = _GradState()


def is_grad_enabled():
    """True when operations currently record the graph for backward."""
    return _state.enabled


class _GradModeContext:
    """Base of the context managers below: sets the flag on enter, restores it on exit, and
    wraps functions when used as a decorator (with or without parentheses)."""

    __slots__ = ("_prev",)
    _mode = True

    def __new__(cls, func=None):
        self = object.__new__(cls)
        if func is not None:  # used as ``@no_grad`` without parentheses
            if not callable(func):
                raise TypeError(f"{cls.__name__}() takes no arguments, got {func!r}")
            return self(func)
        return self

    def __enter__(self):
        st = _state
        self._prev = st.enabled
        st.enabled = self._mode
        return self

    def __exit__(self, exc_type, exc, tb):
        _state.enabled = self._prev
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

    __slots__ = ()
    _mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator that re-enables graph recording (e.g. inside ``no_grad``)."""

    __slots__ = ()
    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(mode)``: set grad mode to ``mode``; as a context manager the previous
    mode comes back on exit. Called as a plain function it simply sets the mode."""

    __slots__ = ("_mode",)

    def __new__(cls, mode):
        self = object.__new__(cls)
        self._prev = _state.enabled
        self._mode = bool(mode)
        _state.enabled = self._mode
        return self

    def __enter__(self):
        return self  # the mode was already set when the object was created


class inference_mode(_GradModeContext):
    """PyTorch's ``inference_mode(mode=True)``, a context manager / decorator: with ``mode`` True
    nothing is recorded, as in ``no_grad()``; with False nothing changes. (PyTorch also marks
    the tensors made inside as inference tensors that refuse autograd later; the engine has no
    such tensors, so using them in a graph afterwards works here.)"""

    __slots__ = ("_on", "_prev_inference")

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        if callable(mode) and not isinstance(mode, bool):  # ``@inference_mode`` without ()
            self._on = True
            return self(mode)
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be a bool, got {mode!r}")
        self._on = mode
        return self

    def __enter__(self):
        st = _state
        self._prev, self._prev_inference = st.enabled, st.inference
        if self._on:
            st.enabled, st.inference = False, True
        return self

    def __exit__(self, exc_type, exc, tb):
        _state.enabled, _state.inference = self._prev, self._prev_inference
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(self._on):
                return func(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    """True inside ``inference_mode()``."""
    return _state.inference
