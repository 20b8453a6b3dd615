"""The backward engine: walks the recorded graph from the outputs back to the leaves.

The graph is made of *nodes* (the ``Context`` of each recorded op) joined by *edges*. An edge
is ``(node, output_index)`` -- "the gradient I produce for this input goes to output
``output_index`` of ``node``" -- or ``(leaf_tensor, -1)`` for a leaf that requires grad.

Backward runs in two passes, both with explicit stacks (no recursion, so a chain of 100,000
ops is fine):

1. **Count dependencies.** Starting at the roots, visit every node once and count how many
   edges point at it. A node may only run once all of them delivered their gradient.
2. **Run nodes.** Keep a stack of *ready* nodes (no outstanding dependencies). Pop one, hand
   its accumulated output gradients to its Function's backward, and add each returned gradient
   into the buffer of the node (or leaf) it belongs to. When a node's count drops to zero it
   becomes ready. A node used many times (``b = a + a``) simply receives several
   contributions, summed in its buffer before it runs.

Shape matching lives here, in one place, for every op: a gradient arriving for an output of
shape S is *summed* over the dimensions that broadcasting added (NumPy rules) and *expanded*
over the dimensions that a reduction removed (``sum`` may return its gradient as a scalar).
Ops therefore never reduce broadcast dimensions themselves.

Two modes (the "two worlds" of autograd/function.py):

* ``create_graph=False`` (the usual one): gradients are plain ndarrays, grad mode is off, and
  every built-in op's ``backward`` runs on arrays (user Functions still get Tensors).
* ``create_graph=True``: gradients are Tensors, grad mode is on, and every op's ``backward`` is
  itself recorded -- so the gradient can be differentiated again.

Unless ``retain_graph=True`` each node frees its saved values after running; walking it again
raises a RuntimeError that says so.

Hooks (PyTorch's): a leaf's ``.grad`` is written as soon as the last gradient for it has
arrived -- while the rest of the graph is still being walked -- and then the hooks registered
with ``Tensor.register_post_accumulate_grad_hook`` run (data-parallel training starts sending
gradients from there). ``queue_callback(fn)``, called during a backward, runs ``fn()`` once that
backward has finished.

Ownership: a leaf's ``.grad`` must never alias an array anyone else holds (a gradient passed to
``backward()``, one an op returned for two inputs, a view of either). The engine knows which
buffers it allocated itself -- the sum of two contributions -- and only those it adds into in
place or hands to ``.grad`` as they are; any other gradient is copied when it becomes a ``.grad``.
An Op whose array-world ``backward`` returns only arrays it allocated for the call, held by
nothing else (``Function.backward_fresh``), hands them over as owned too: a leaf input's
gradient then becomes its ``.grad`` without that copy (PyTorch's AccumulateGrad likewise keeps a
gradient nobody else references).
"""
import threading

import numpy as np

from .grad_mode import _state
from .match_shape import MatchShape, sum_to_shape
from .tensor import Tensor, as_array

__all__ = ["backward", "grad", "queue_callback"]


def _match(g, shape):
    """sum_to_shape for either an ndarray or a Tensor (the latter stays differentiable)."""
    if g.shape == shape:
        return g
    if not isinstance(g, Tensor):
        return sum_to_shape(np.asarray(g), shape)
    return MatchShape.apply(g, shape)


def _freed_error(node):
    return RuntimeError(
        f"Trying to backward through the graph a second time (node {node.name()} was already "
        "run and its saved values freed). Specify retain_graph=True in the first backward() "
        "(or autograd.grad()) call if you need to backward through the graph again.")


def _zeros(meta, create_graph):
    shape, dtype = meta
    z = np.zeros(shape, dtype=dtype)
    return Tensor._wrap(z) if create_graph else z


def _run(root_edges, root_grads, retain_graph, create_graph, capture=None, on_leaf=None):
    """Core loop. ``root_edges``/``root_grads``: where to start and with which gradients.

    Returns ``(leaves, owned)``: the gradient of every leaf reached, and the set of leaves whose
    gradient is a buffer the engine allocated (see "Ownership" above). ``capture`` is None for
    ``backward()``, or a dict ``{edge: None}`` for ``autograd.grad``: then the gradients arriving
    at those edges are also collected (filled into the same dict). ``on_leaf(leaf, g, owned)``,
    when given, is called for each leaf as soon as its last contribution has arrived (and the
    leaf is then no longer in the returned ``leaves``)."""
    # ---- pass 1: dependency counts (of leaves too, when they are handed out early) --------
    deps = {}
    leaf_deps = {} if on_leaf is not None else None
    stack = []
    for node, idx in root_edges:
        if idx >= 0 and node not in deps:
            deps[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        nxt = node._next
        if nxt is None:
            raise _freed_error(node)
        for e in nxt:
            if e is None:
                continue
            c = e[0]
            if e[1] >= 0:
                n = deps.get(c)
                if n is None:
                    deps[c] = 1
                    stack.append(c)
                else:
                    deps[c] = n + 1
            elif leaf_deps is not None:
                leaf_deps[c] = leaf_deps.get(c, 0) + 1

    # ---- seed the buffers with the root gradients ----------------------------------------
    bufs = {}
    leaves = {}
    owned = set()
    for (node, idx), g in zip(root_edges, root_grads):
        if idx < 0:
            _add_leaf(leaves, owned, node, g, create_graph)
        else:
            b = bufs.get(node)
            if b is None:
                b = bufs[node] = [None] * len(node._out_meta)
            b[idx] = g if b[idx] is None else b[idx] + g
    ready = [n for n in bufs if deps[n] == 0]
    capture_nodes = None
    if capture is not None:
        capture_nodes = {e[0] for e in capture if e[1] >= 0}

    # ---- pass 2: run the nodes in dependency order ---------------------------------------
    prev_mode, prev_arrays = _state.enabled, _state.arrays
    _state.enabled = create_graph
    _state.arrays = not create_graph
    try:
        while ready:
            node = ready.pop()
            nxt = node._next
            if nxt is None:
                raise _freed_error(node)
            grads = bufs.pop(node, None)
            fresh = False  # the arrays in res are the node's own, fresh ones (backward_fresh)
            if grads is None:  # no gradient reached any output: nothing flows further
                res = (None,) * len(nxt)
            else:
                meta = node._out_meta
                for i, g in enumerate(grads):
                    if g is None:
                        if meta[i] is not None:
                            grads[i] = _zeros(meta[i], create_graph)
                    elif g.shape != meta[i][0]:
                        grads[i] = _match(g, meta[i][0])
                    elif not create_graph and type(g) is not np.ndarray:
                        grads[i] = np.asarray(g)  # NumPy turns 0-d results into scalars
                if node._retained is not None and capture is None:
                    _retain(node, grads, create_graph)
                if capture_nodes is not None and node in capture_nodes:
                    for i, g in enumerate(grads):
                        if (node, i) in capture:
                            capture[(node, i)] = g
                fn = node._fn
                if create_graph or fn.backward_on_arrays:
                    res = fn.backward(node, *grads)
                else:  # a user Function: it works on Tensors
                    _state.arrays = False
                    try:
                        res = fn.backward(node, *[None if g is None else Tensor._wrap(g)
                                                  for g in grads])
                    finally:
                        _state.arrays = True
                    res = _unwrap(res)
                if type(res) is not tuple:
                    res = (res,)
                if len(res) != len(nxt):
                    raise RuntimeError(
                        f"function {node.name()} returned an incorrect number of gradients "
                        f"(expected {len(nxt)}, got {len(res)})")
                if create_graph:
                    res = [r if r is None or isinstance(r, Tensor) else Tensor._wrap(np.asarray(r))
                           for r in res]
                fresh = not create_graph and fn.backward_fresh and fn.backward_on_arrays
            for e, g in zip(nxt, res):
                if e is None:
                    continue
                c, idx = e
                if idx < 0:
                    if g is not None:
                        # reduce a broadcast gradient before adding: summing two gradients of
                        # different shapes would replicate the smaller one
                        if g.shape != c._data.shape:
                            g = _match(g, c._data.shape)
                        if c in leaves:
                            _add_leaf(leaves, owned, c, g, create_graph)
                        else:
                            leaves[c] = g
                            if fresh and type(g) is np.ndarray:
                                owned.add(c)
                    if leaf_deps is not None:
                        n = leaf_deps[c] - 1
                        leaf_deps[c] = n
                        if n == 0 and c in leaves:
                            on_leaf(c, leaves.pop(c), c in owned)
                    continue
                if g is not None:
                    meta = c._out_meta[idx]
                    if meta is not None and g.shape != meta[0]:
                        g = _match(g, meta[0])
                    b = bufs.get(c)
                    if b is None:
                        b = bufs[c] = [None] * len(c._out_meta)
                        b[idx] = g
                    else:
                        old = b[idx]
                        b[idx] = g if old is None else old + g
                n = deps[c] - 1
                deps[c] = n
                if n == 0:
                    ready.append(c)
            if not retain_graph:
                node._next = None
                node._saved = None
    finally:
        _state.enabled, _state.arrays = prev_mode, prev_arrays
    return leaves, owned


def _add_leaf(leaves, owned, leaf, g, create_graph):
    """Add gradient ``g`` to what ``leaf`` has received so far. The first contribution is kept as
    it is (someone else may hold it); the sum of two is a buffer the engine allocated, so it is
    owned, and later contributions are added into it in place."""
    old = leaves.get(leaf)
    if old is None:
        leaves[leaf] = g
    elif create_graph:
        leaves[leaf] = old + g
    elif leaf in owned and old.shape == g.shape and np.result_type(old, g) == old.dtype:
        np.add(old, g, out=old)
    else:
        leaves[leaf] = old + g
        owned.add(leaf)


def _as_grad(g, dtype, owned):
    """Leaf gradient ``g`` (an ndarray) as the ndarray of a new ``.grad``: as it is when the engine
    owns it and it already has the leaf's layout, else a copy."""
    if type(g) is np.ndarray and g.dtype == dtype and g.flags.c_contiguous:
        if owned and g.flags.writeable:
            return g
        return g.copy()
    return np.array(g, dtype=dtype, order="C", copy=True)


def _retain(node, grads, create_graph):
    """Store the gradient of non-leaf outputs whose Tensor asked for it (retain_grad)."""
    for i, ref in node._retained.items():
        t = ref()
        g = grads[i]
        if t is None or g is None:
            continue
        if not create_graph:
            g = Tensor._wrap(np.array(g, copy=True))
        t.grad = g if t.grad is None else t.grad + g


def _unwrap(res):
    if type(res) is tuple:
        return tuple([None if r is None else as_array(r) for r in res])
    return None if res is None else as_array(res)


def _root_grads(tensors, grads, create_graph, caller):
    """Check the roots and turn the given output gradients into the engine's form."""
    edges, seeds = [], []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: outputs[{i}] must be a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {tuple(t.shape)}); pass "
                                   "gradient=... with the output's shape")
            g = np.ones(t._data.shape, dtype=t._data.dtype)
            if create_graph:
                g = Tensor._wrap(g)
        else:
            if isinstance(g, Tensor):
                if not create_graph:
                    g = g._data
            else:
                g = np.asarray(g, dtype=t._data.dtype)
                if create_graph:
                    g = Tensor._wrap(g)
            if tuple(g.shape) != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{tuple(g.shape)} and output[{i}] has a shape of "
                                   f"{t._data.shape}")
        edges.append(t._edge if t._edge is not None else (t, -1))
        seeds.append(g)
    return edges, seeds


def _as_list(x, name):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{name} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf that requires grad
    (``Tensor.backward`` calls this). Gradients add up across calls, as in PyTorch."""
    tensors = _as_list(tensors, "tensors")
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    else:
        grad_tensors = _as_list(grad_tensors, "grad_tensors")
    if retain_graph is None:
        retain_graph = create_graph
    edges, seeds = _root_grads(tensors, grad_tensors, create_graph, "backward")
    callbacks = []
    _queued.stack.append(callbacks)
    try:
        accumulate = _accumulate_create_graph if create_graph else _accumulate
        leaves, owned = _run(edges, seeds, retain_graph, create_graph, on_leaf=accumulate)
        for leaf, g in leaves.items():  # leaves reached only as roots
            accumulate(leaf, g, leaf in owned)
        while callbacks:  # a callback may queue another
            callbacks.pop(0)()
    finally:
        _queued.stack.pop()


def _accumulate(leaf, g, owned):
    """Add gradient ``g`` (an ndarray) into ``leaf.grad``, then run the leaf's
    post-accumulate-grad hooks."""
    shape, dtype = leaf._data.shape, leaf._data.dtype
    if g.shape != shape:
        g = sum_to_shape(g, shape)
    old = leaf.grad
    if old is None:
        leaf.grad = Tensor._wrap(_as_grad(g, dtype, owned))
    else:
        od = old._data
        if od.shape == shape and od.flags.writeable:
            np.add(od, g, out=od, casting="unsafe")
            old._version += 1
        else:
            leaf.grad = Tensor._wrap(np.asarray(od + g, dtype=dtype))
    if leaf._post_acc_hooks:
        _run_hooks(leaf)


def _accumulate_create_graph(leaf, g, owned):
    """``_accumulate`` for ``create_graph=True``: ``g`` is a Tensor and the sum is recorded."""
    g = _match(g, leaf._data.shape)
    if g.dtype != leaf._data.dtype:
        g = g.to(leaf._data.dtype)
    leaf.grad = g if leaf.grad is None else leaf.grad + g
    if leaf._post_acc_hooks:
        _run_hooks(leaf)


def _run_hooks(leaf):
    """A leaf's post-accumulate-grad hooks, run as user code: on Tensors, not in the engine's
    array world (grad mode stays as backward set it, as in PyTorch)."""
    prev = _state.arrays
    _state.arrays = False
    try:
        for hook in tuple(leaf._post_acc_hooks.values()):
            if hook(leaf) is not None:
                raise RuntimeError("a post-accumulate-grad hook must return None (it may "
                                   "change tensor.grad in place instead)")
    finally:
        _state.arrays = prev


class _Queued(threading.local):
    def __init__(self):
        self.stack = []  # one list of callbacks per backward() running in this thread


_queued = _Queued()


def queue_callback(callback):
    """Run ``callback()`` (no arguments) once the ``backward()`` now running has written every
    ``.grad`` and run every hook -- PyTorch's ``Variable._execution_engine.queue_callback``.
    Callable only from inside a backward (from a hook or a Function's backward)."""
    if not callable(callback):
        raise TypeError(f"queue_callback: callback must be callable, got "
                        f"{type(callback).__name__}")
    if not _queued.stack:
        raise RuntimeError("queue_callback: no backward() is running (call it from a hook or "
                           "a Function's backward)")
    _queued.stack[-1].append(callback)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    Like ``torch.autograd.grad``: ``grad_outputs`` weights the outputs (needed for
    non-scalar outputs); with ``create_graph=True`` the returned gradients are themselves
    differentiable; ``retain_graph`` defaults to ``create_graph``. Inputs the outputs do not
    depend on raise unless ``allow_unused=True`` (then their gradient is None)."""
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_list(grad_outputs, "grad_outputs")
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: grad_outputs has {len(grad_outputs)} entries but outputs "
                             f"has {len(outputs)}")
    if retain_graph is None:
        retain_graph = create_graph
    in_edges = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad")
        in_edges.append(t._edge if t._edge is not None else (t, -1))
    edges, seeds = _root_grads(outputs, grad_outputs, create_graph, "grad")
    capture = {e: None for e in in_edges}
    leaves, owned = _run(edges, seeds, retain_graph, create_graph, capture)
    result = []
    for i, (t, e) in enumerate(zip(inputs, in_edges)):
        g = leaves.get(t) if e[1] < 0 else capture[e]
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: inputs[{i}] was not used in the graph of the outputs "
                                   "(pass allow_unused=True to get None for it)")
            result.append(None)
            continue
        g = _match(g, t._data.shape)
        if create_graph:
            if g.dtype != t.dtype:
                g = g.to(t.dtype)
        else:
            g = Tensor._wrap(_as_grad(g, t._data.dtype, e[1] < 0 and t in owned))
            owned.discard(t)  # the same input listed twice gets a copy the second time
        result.append(g)
    return tuple(result)
