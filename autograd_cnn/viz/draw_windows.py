"""Drawing convolution and pooling arithmetic (matplotlib): the input grid with its padding, the
window's taps at one output position, and the output grid; a strip of every position, or an
animated GIF of the window sliding. The numbers come from :mod:`autograd_cnn.viz.arithmetic`."""
import os

import numpy as np

from . import _mpl
from .arithmetic import INPUT, OUTSIDE, PADDING, WindowDiagram

__all__ = ["plot_window", "plot_window_strip", "animate_window"]

_TAP = "#1f77b4"       # the window's taps and the output it produces
_PAD = "#d9d9d9"       # padding cells
_DONE = "#c6dbef"      # outputs already computed (in an animation)


def _check(diagram):
    if not isinstance(diagram, WindowDiagram):
        raise TypeError(f"diagram must be a WindowDiagram (from conv_arithmetic or "
                        f"pool_arithmetic), got {type(diagram).__name__}")


def _as2d(diagram, position):
    """(rows, cols) views of a 1-D or 2-D diagram: sizes, extents, taps (row, col), kinds."""
    taps, kinds = diagram.taps(position), diagram.tap_kinds(position)
    in_size, out_size, extent = diagram.in_size, diagram.out_size, diagram.extent()
    if diagram.ndim == 1:
        taps = np.concatenate([np.zeros((len(taps), 1), dtype=taps.dtype), taps], axis=1)
        in_size, out_size, extent = (1,) + in_size, (1,) + out_size, ((0, 0),) + extent
    return in_size, out_size, extent, taps, kinds


def _cell(ax, r, c, **kw):
    from matplotlib.patches import Rectangle
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, **kw))


def _draw_panels(ax_in, ax_out, diagram, position, done=()):
    pos = diagram._check(position)
    in_size, out_size, extent, taps, kinds = _as2d(diagram, pos)
    (r0, r1), (c0, c1) = extent
    # the input grid: input cells, padding, and (ceil_mode) cells past the padding
    pad = diagram.padding if diagram.ndim == 2 else ((0, 0),) + diagram.padding
    for r in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            inside = 0 <= r < in_size[0] and 0 <= c < in_size[1]
            padded = (-pad[0][0] <= r < in_size[0] + pad[0][1]
                      and -pad[1][0] <= c < in_size[1] + pad[1][1])
            if inside:
                _cell(ax_in, r, c, facecolor="white", edgecolor="#555555", lw=0.8)
            elif padded:
                _cell(ax_in, r, c, facecolor=_PAD, edgecolor="#999999", lw=0.6, hatch="//")
            else:
                _cell(ax_in, r, c, facecolor="none", edgecolor="#bbbbbb", lw=0.6, ls=":")
    for (r, c), kind in zip(taps, kinds):
        _cell(ax_in, r, c, facecolor=_TAP, alpha=0.25 if kind == OUTSIDE else 0.7,
              edgecolor=_TAP, lw=1.5)
    lo, hi = taps.min(axis=0), taps.max(axis=0)
    from matplotlib.patches import Rectangle
    ax_in.add_patch(Rectangle((lo[1] - 0.5, lo[0] - 0.5), hi[1] - lo[1] + 1, hi[0] - lo[0] + 1,
                              fill=False, edgecolor=_TAP, lw=2.0, ls="--"))
    # the output grid
    pos2 = pos if diagram.ndim == 2 else (0,) + pos
    done2 = [d if diagram.ndim == 2 else (0,) + tuple(d) for d in done]
    for r in range(out_size[0]):
        for c in range(out_size[1]):
            face = _TAP if (r, c) == pos2 else (_DONE if (r, c) in done2 else "white")
            _cell(ax_out, r, c, facecolor=face, edgecolor="#555555", lw=0.8,
                  alpha=0.7 if (r, c) == pos2 else 1.0)
    for ax, (ra, rb), (ca, cb) in ((ax_in, (r0, r1), (c0, c1)),
                                   (ax_out, (0, out_size[0] - 1), (0, out_size[1] - 1))):
        ax.set_xlim(ca - 0.6, cb + 0.6)
        ax.set_ylim(rb + 0.6, ra - 0.6)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
    n_in = int(np.count_nonzero(kinds == INPUT))
    n_pad = int(np.count_nonzero(kinds == PADDING))
    note = f"taps: {n_in} on the input, {n_pad} on padding"
    if np.any(kinds == OUTSIDE):
        note += f", {int(np.count_nonzero(kinds == OUTSIDE))} past it (skipped)"
    ax_in.set_title(f"input (padding hatched)\n{note}", fontsize=9)
    ax_out.set_title(f"output, position {_fmt_pos(pos)}", fontsize=9)


def _wrapped(text, width_inches):
    """The description on one line, or with the output size on a line of its own."""
    import textwrap
    width = max(30, int(width_inches * 10))
    if len(text) <= width:
        return text
    head, _, tail = text.partition(" -> ")
    return textwrap.fill(head, width) + ("\n-> " + tail if tail else "")


def _fmt_pos(pos):
    return str(pos[0]) if len(pos) == 1 else str(tuple(pos))


def _panel_sizes(diagram):
    in_size, out_size, extent, _, _ = _as2d(diagram, diagram.positions()[0])
    w_in = extent[1][1] - extent[1][0] + 1
    h_in = extent[0][1] - extent[0][0] + 1
    return (w_in, h_in), (out_size[1], out_size[0])


def plot_window(diagram, position=None, figsize=None):
    """The window of ``diagram`` at output ``position`` (default: the first): the input grid
    with padding and the taps, beside the output grid. The title is the diagram's description,
    whose output size is the engine's. Returns a matplotlib Figure."""
    _check(diagram)
    position = diagram.positions()[0] if position is None else position
    (w_in, h_in), (w_out, h_out) = _panel_sizes(diagram)
    if figsize is None:
        cell = 0.45 if max(w_in, h_in) <= 10 else 4.5 / max(w_in, h_in)
        figsize = (max(6.0, cell * (w_in + w_out) + 1.5), max(2.2, cell * max(h_in, h_out) + 1.6))
    fig = _mpl.new_figure(figsize, "plot_window")
    ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [w_in, max(w_out, 1)]})
    _draw_panels(ax_in, ax_out, diagram, position)
    fig.suptitle(_wrapped(diagram.description(), figsize[0]), fontsize=10)
    return fig


def plot_window_strip(diagram, positions=None, max_frames=12, figsize=None):
    """Every output position (or ``positions``; at most ``max_frames``) side by side, one input
    grid per frame with the output position in its title: the animation as a still picture."""
    _check(diagram)
    positions = diagram.positions() if positions is None else list(positions)
    positions = positions[:max_frames]
    cols = min(len(positions), 4)
    rows = -(-len(positions) // cols)
    (w_in, h_in), _ = _panel_sizes(diagram)
    if figsize is None:
        cell = min(0.3, 3.0 / max(w_in, h_in))
        figsize = (cols * (cell * w_in + 0.4), rows * (cell * h_in + 0.7) + 0.6)
    fig = _mpl.new_figure(figsize, "plot_window_strip")
    axes = np.atleast_1d(fig.subplots(rows, cols * 2, squeeze=False,
                                      gridspec_kw={"width_ratios": [w_in, 0.001] * cols}))
    for i in range(rows * cols):
        ax_in, ax_out = axes[i // cols, 2 * (i % cols)], axes[i // cols, 2 * (i % cols) + 1]
        ax_out.set_visible(False)
        if i >= len(positions):
            ax_in.set_visible(False)
            continue
        _draw_panels(ax_in, ax_out, diagram, positions[i])
        ax_in.set_title(f"output {_fmt_pos(tuple(positions[i]))}", fontsize=8)
    fig.suptitle(_wrapped(diagram.description(), figsize[0]), fontsize=9)
    return fig


def animate_window(diagram, path, fps=2, dpi=80):
    """Write the window sliding over every output position to ``path``: an animated GIF with
    matplotlib's PillowWriter when Pillow is installed, else (or for a path not ending in .gif)
    a PNG strip of the frames (``plot_window_strip``) next to it. Returns the path written."""
    _check(diagram)
    root, ext = os.path.splitext(os.fspath(path))
    if ext.lower() != ".gif" or not _mpl.have_pillow():
        out = root + ".png"
        fig = plot_window_strip(diagram)
        fig.savefig(out, dpi=dpi)
        return out
    _mpl.require_matplotlib("animate_window")
    from matplotlib.animation import FuncAnimation, PillowWriter
    positions = diagram.positions()
    fig = plot_window(diagram, positions[0])
    ax_in, ax_out = fig.axes[:2]

    def frame(i):
        for ax in (ax_in, ax_out):
            for p in list(ax.patches):
                p.remove()
        _draw_panels(ax_in, ax_out, diagram, positions[i], done=positions[:i])
        return []

    anim = FuncAnimation(fig, frame, frames=len(positions), blit=False)
    anim.save(os.fspath(path), writer=PillowWriter(fps=fps), dpi=dpi)
    return os.fspath(path)
