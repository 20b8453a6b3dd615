"""The package's import structure: the autograd core stands alone (it imports no op), no module
reaches a value through another module's injected global, and the imports form no cycle."""
import ast
import json
import pathlib
import subprocess
import sys

import autograd_cnn as ac

PKG = pathlib.Path(ac.__file__).parent


def _load_alone(module):
    """The autograd_cnn modules loaded by importing ``module`` in a fresh interpreter, with the
    package's own __init__ (which imports everything) left out."""
    code = (
        "import json, sys, types\n"
        "pkg = types.ModuleType('autograd_cnn')\n"
        f"pkg.__path__ = [{str(PKG)!r}]\n"
        "sys.modules['autograd_cnn'] = pkg\n"
        f"import {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('autograd_cnn.'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_autograd_imports_no_op():
    loaded = _load_alone("autograd_cnn.autograd")
    assert "autograd_cnn.autograd.engine" in loaded and "autograd_cnn.autograd.tensor" in loaded
    assert all(m.split(".")[1] == "autograd" for m in loaded), loaded


def test_engine_and_function_see_the_real_tensor_class():
    # no `function.Tensor = Tensor` injected at import time: they import the class
    from autograd_cnn.autograd import engine, function, tensor
    assert function.Tensor is engine.Tensor is tensor.Tensor is ac.Tensor


def _module_name(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _is_module(name):
    base = PKG.parent.joinpath(*name.split("."))
    return (base.with_suffix(".py").exists() or (base / "__init__.py").exists()
            or any(base.parent.glob(base.name + ".*.so")))  # the compiled core, _C


def _imports(path, top_level_only):
    """Package-internal modules ``path`` imports (module-level statements only, or also the ones
    inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    found = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if top_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    mod = f"{base}.{child.module}" if child.module else base
                else:
                    mod = child.module or ""
                if mod == "autograd_cnn" or mod.startswith("autograd_cnn."):
                    for alias in child.names:
                        sub = f"{mod}.{alias.name}"
                        found.add(sub if _is_module(sub) else mod)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("autograd_cnn"))
            visit(child)
    visit(tree)
    found.discard(name)
    return {m for m in found if _is_module(m)}


def _graph(top_level_only=True):
    return {_module_name(p): _imports(p, top_level_only) for p in PKG.rglob("*.py")}


def test_no_import_cycles():
    graph = _graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_core_imports_nothing_inside_functions():
    # a lazy import inside a function is how a cycle hides: the core has none
    core = [p for p in PKG.rglob("*.py")
            if _module_name(p).startswith(("autograd_cnn.autograd", "autograd_cnn.ops",
                                           "autograd_cnn.tensor", "autograd_cnn.functional"))]
    assert core
    for p in core:
        assert _imports(p, False) == _imports(p, True), p
