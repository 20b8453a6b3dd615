"""The one place that imports matplotlib (lazily: ``import autograd_cnn.viz`` never does).

Figures are made with ``matplotlib.figure.Figure`` directly, not pyplot: no GUI backend, no global
figure list to leak into, and they still display in a notebook and save with the Agg renderer."""
import io

__all__ = ["PLOT_INSTALL", "require_matplotlib", "new_figure", "png_bytes", "have_pillow"]

#: the command that installs the drawing extra
PLOT_INSTALL = 'pip install ".[plot]"'


def require_matplotlib(what="drawing"):
    """The ``matplotlib`` module, or an ImportError naming the extra that provides it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ImportError(f"autograd_cnn.viz: {what} needs matplotlib; install the plot extra "
                          f"with `{PLOT_INSTALL}` (or `pip install matplotlib`)") from None
    return matplotlib


def new_figure(figsize, what="drawing"):
    """A fresh ``Figure`` of ``figsize`` inches (width, height)."""
    require_matplotlib(what)
    from matplotlib.figure import Figure
    w, h = figsize
    if not (w > 0 and h > 0):
        raise ValueError(f"figsize must be two positive numbers (inches), got {figsize!r}")
    return Figure(figsize=(float(w), float(h)), layout="constrained")


def png_bytes(fig, dpi=100):
    """The figure rendered as PNG bytes (Agg), at its own size."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def have_pillow():
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True
