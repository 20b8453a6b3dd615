"""README.md as a new user meets it: its Python snippets run and print what their comments say,
its command lines are accepted by the command they call, its benchmark command collects every
suite, and a source tree without the compiled core says how to build it.

The two quick-start commands themselves (they install) are run verbatim by .ci/run, which reads
them from between the same markers as `_marked_block` here.
"""
import contextlib
import glob
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest

from autograd_cnn import bench, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as _f:
    README = _f.read()


def _fenced_blocks(language):
    return re.findall(r"^```" + language + r"\n(.*?)^```", README, flags=re.S | re.M)


def _marked_block(name):
    """The command between ``<!-- ci:NAME -->`` and ``<!-- /ci:NAME -->``, as .ci/run reads it."""
    m = re.search(rf"<!-- ci:{name} -->\n```bash\n(.*?)```\n<!-- /ci:{name} -->", README, re.S)
    assert m, f"README.md has no ```bash block between the ci:{name} markers"
    return m.group(1).strip()


def _command_lines():
    """Every `python -m autograd_cnn ...` line of the README's bash blocks, comments removed."""
    lines = []
    for block in _fenced_blocks("bash"):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:3] == ["python", "-m", "autograd_cnn"]:
                lines.append(argv[3:])
    return lines


@pytest.mark.parametrize("name", ["run-command", "test-command"])
def test_quick_start_commands_are_marked_one_liners(name):
    command = _marked_block(name)
    assert "\n" not in command and command.startswith("pip install -e ")


def test_quick_start_runs_the_training_command():
    command = _marked_block("run-command")
    assert command.endswith("&& python -m autograd_cnn train")


@pytest.mark.parametrize("snippet", _fenced_blocks("python"), ids=lambda s: s.splitlines()[0][:40])
def test_python_snippet_prints_what_its_comments_say(snippet):
    """Each ``print(...)  # expected`` line's comment is the line that print must write."""
    needs = re.match(r"# needs: (.+)", snippet)  # optional packages: skipped without them
    for module in needs.group(1).split(",") if needs else ():
        pytest.importorskip(module.strip(), reason=f"the README snippet needs {module.strip()}")
    expected = [m.group(1).strip() for m in re.finditer(r"^\s*print\(.*\)\s*#\s*(.+)$", snippet, re.M)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "README.md", "exec"), {"__name__": "__readme__"})
    printed = [line.strip() for line in out.getvalue().splitlines()]
    assert printed == expected


def test_readme_has_command_lines_for_each_command():
    commands = {argv[0] for argv in _command_lines()}
    assert {"train", "summary", "bench"} <= commands


@pytest.mark.parametrize("argv", _command_lines(), ids=" ".join)
def test_command_line_is_accepted(argv, capsys):
    """Each documented command line parses; summary and --help also run (training and the
    benchmark take seconds to minutes: the quick start in .ci/run and their own tests run them)."""
    if "--help" in argv or argv[0] == "summary":
        assert cli.main(argv) == 0
        assert capsys.readouterr().out.strip()
    elif argv[0] == "bench":
        bench.build_parser().parse_args(argv[1:])
    else:
        args = cli.build_parser().parse_args(argv)
        assert args.command == argv[0]


def test_benchmark_command_collects_every_suite():
    """`python -m pytest benchmarks ...` (the README's command) collects from each bench_*.py."""
    suites = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "benchmarks", "bench_*.py")))
    assert suites
    r = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q",
                        "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    collected = {line.split("::")[0].split("/")[-1] for line in r.stdout.splitlines() if "::" in line}
    assert collected == set(suites)


# A finder placed first on sys.meta_path that reports autograd_cnn._C as absent: the state of a
# source tree nobody built, whatever else this environment has installed (an editable install's
# finder would otherwise supply the real extension).
_IMPORT_WITHOUT_CORE = textwrap.dedent("""
    import importlib.abc, sys
    class NoCore(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "autograd_cnn._C":
                raise ModuleNotFoundError("No module named 'autograd_cnn._C'", name=name)
    if sys.argv[1] == "absent":
        sys.meta_path.insert(0, NoCore())
    import autograd_cnn
""")


@pytest.fixture
def source_copy(tmp_path):
    """The package's Python sources, without any compiled extension, in a fresh folder."""
    def skip_built(folder, names):
        return [n for n in names if n.startswith("_C.") and not n.endswith((".pyx", ".cpp"))
                or n == "__pycache__"]
    shutil.copytree(os.path.join(ROOT, "autograd_cnn"), tmp_path / "autograd_cnn", ignore=skip_built)
    return tmp_path


@pytest.mark.parametrize("state", ["absent", "broken"])
def test_unbuilt_source_tree_names_the_fix(source_copy, state):
    if state == "broken":  # a file that is not a loadable extension, e.g. built for another Python
        from importlib.machinery import EXTENSION_SUFFIXES
        (source_copy / "autograd_cnn" / ("_C" + EXTENSION_SUFFIXES[0])).write_bytes(b"not ELF")
    r = subprocess.run([sys.executable, "-c", _IMPORT_WITHOUT_CORE, state], cwd=source_copy,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: autograd_cnn: ")
    assert "`pip install -e .`" in last and str(source_copy) in last
    assert ("is not built" if state == "absent" else "could not be loaded") in last
    assert "partially initialized" not in r.stderr and "circular import" not in r.stderr


def test_another_missing_module_is_not_blamed_on_the_compiled_core(tmp_path):
    """Only a missing or broken autograd_cnn._C gets the build advice; NumPy missing says so."""
    code = "import sys; sys.modules['numpy'] = None; import autograd_cnn"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "numpy" in r.stderr.strip().splitlines()[-1]
    assert "compiled core" not in r.stderr
