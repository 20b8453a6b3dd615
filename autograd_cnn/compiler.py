"""``autograd_cnn.compile`` (PyTorch's ``torch.compile``): the engine has no graph compiler, so
compiling hands back the model or function itself, unchanged, once the arguments are checked:
a script that compiles its model runs as written. (PyTorch returns a wrapper whose state-dict
keys start with ``_orig_mod.``; here the keys stay the model's own.)"""

__all__ = ["compile"]

_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,  # noqa: A001
            options=None, disable=False):
    """``model`` itself (a Module or a function); without ``model``, a decorator doing the
    same. Arguments as PyTorch's; none of them changes anything here."""
    if mode not in _MODES:
        raise RuntimeError(f"compile: unrecognized mode={mode!r}, should be one of: "
                           f"{', '.join(m for m in _MODES if m)}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be specified, but both can't "
                           "be specified at the same time")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"compile: backend must be a string or a callable, got {backend!r}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if not callable(model):
        raise RuntimeError(f"compile: model must be a Module or a function, got "
                           f"{type(model).__name__}")
    return model
