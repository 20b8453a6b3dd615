"""A PyTorch-style training script (tests/scripts/mnist_style.py: an ``nn.Module`` subclass,
``torch.device("cuda" if torch.cuda.is_available() else "cpu")``, ``model.to(device)``,
``DataLoader(TensorDataset(...), shuffle=True, num_workers=2)``, ``.to(device)`` in the loops,
``argmax(dim=1, keepdim=True)``, ``pred.eq(target.view_as(pred)).sum().item()``,
``torch.max(out.data, 1)``, StepLR, ``torch.save(model.state_dict(), ...)``) runs on autograd_cnn
with only its imports switched, and learns; the same file with PyTorch's imports runs on PyTorch
where it is installed and learns alike."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import autograd_cnn as ac
from tests._support import requires_torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "scripts", "mnist_style.py")
DIGITS = os.path.join(ROOT, "autograd_cnn", "datasets", "digits.npz")
BLOCK = re.compile(r"(# --- imports.*?\n)(.*?)(# --- end of imports ---)", re.S)
TORCH_IMPORTS = """import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset
from torch.optim.lr_scheduler import StepLR
"""


def _source(torch_version):
    with open(SCRIPT, encoding="utf-8") as f:
        text = f.read()
    assert BLOCK.search(text), "the script lost its import block markers"
    return BLOCK.sub(lambda m: m.group(1) + TORCH_IMPORTS + m.group(3), text) if torch_version \
        else text


def _run(tmp_path, torch_version):
    path = tmp_path / ("torch_version.py" if torch_version else "ours.py")
    path.write_text(_source(torch_version), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    model = tmp_path / "model.pt"
    proc = subprocess.run([sys.executable, str(path), DIGITS, "--save-model", str(model)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    losses = [float(v) for v in re.findall(r"Train Epoch: \d+ Average loss: ([\d.]+)",
                                           proc.stdout)]
    tests = re.findall(r"Accuracy: (\d+)/(\d+) .* max-agree: (\d+)", proc.stdout)
    return proc.stdout, losses, tests, model


def test_script_differs_from_the_torch_version_only_in_its_imports():
    ours, theirs = _source(False).splitlines(), _source(True).splitlines()
    changed = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert len(ours) == len(theirs) and changed
    assert all(a.startswith(("import autograd_cnn", "from autograd_cnn")) for a, _ in changed)


def test_script_learns_on_autograd_cnn(tmp_path):
    out, losses, tests, model = _run(tmp_path, torch_version=False)
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0], out
    first, last = (int(c) / int(n) for c, n, _ in (tests[0], tests[-1]))
    assert first < 0.3 and last > 0.8, out  # chance is 0.1
    assert all(c == m for c, _, m in tests)  # argmax(dim=1) and torch.max(out.data, 1) agree
    sd = ac.load(str(model))
    assert sd["conv1.weight"].shape == (16, 1, 3, 3) and sd["fc2.bias"].shape == (10,)


@requires_torch
def test_the_torch_version_learns_alike(tmp_path):
    out, losses, tests, model = _run(tmp_path, torch_version=True)
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0], out
    assert int(tests[-1][0]) / int(tests[-1][1]) > 0.8, out
    assert model.exists()
