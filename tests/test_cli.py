"""The command line: argument errors, the train command (JSON output, default accuracy), summary."""
import json
import os
import subprocess
import sys

import pytest

from autograd_cnn.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("argv", [
    [], ["bogus"], ["train", "--lr", "-1"], ["train", "--lr", "abc"],
    ["train", "--model", "resnet"],
    ["train", "--batch-size", "0"], ["train", "--epochs", "1.5"], ["train", "--dataset", "cifar"],
    ["train", "--data-dir", "/nonexistent/dir"], ["train", "--val-fraction", "1.5"],
    ["train", "--threads", "0"], ["train", "--unknown-flag"], ["summary", "alexnet"],
    ["summary", "lenet5", "--input-shape", "a,b"],
])
def test_bad_arguments_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograd_cnn: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_idx_dir_without_files(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path)]) == 2
    assert "train-images" in capsys.readouterr().err


def test_module_entry_point_bad_argument():
    r = subprocess.run([sys.executable, "-m", "autograd_cnn", "train", "--lr", "zero"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("autograd_cnn: error:") and "--lr" in r.stderr


def test_help_exits_zero(capsys):
    assert main(["train", "--help"]) == 0
    assert "--optimizer" in capsys.readouterr().out


def test_bench_dispatch(capsys):
    """`bench` hands the rest of the command line to autograd_cnn.bench, whose parser answers."""
    with pytest.raises(SystemExit) as info:
        main(["bench", "--repeat", "0"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("autograd_cnn bench: error: ") and "--repeat" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "-1"], "--epochs must be >= 0, got -1"),
    (["train", "--batch-size", "x"], "--batch-size must be an integer, got 'x'"),
    (["train", "--lr", "0"], "--lr must be > 0 and finite, got 0"),
    (["train", "--momentum", "inf"], "--momentum must be >= 0 and finite, got inf"),
    (["train", "--val-fraction", "nan"], "--val-fraction must be >= 0 and finite, got nan"),
])
def test_number_options_name_the_option_and_the_bound(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_train_json_small(tmp_path, capsys):
    model_path = tmp_path / "m.npz"
    code = main(["train", "--dataset", "digits", "--epochs", "2", "--json", "--seed", "1",
                 "--save", str(model_path), "--plot", str(tmp_path / "c.png")])
    assert code == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    for key in ("test_accuracy", "epochs_run", "best_epoch", "seconds", "images_per_second"):
        assert key in result
    assert result["epochs_run"] == 2 and 0.5 < result["test_accuracy"] <= 1.0
    assert model_path.exists()
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "c.png").exists()
    except ImportError:
        assert "matplotlib" in captured.err


def test_train_resume_roundtrip(tmp_path, capsys):
    ck = str(tmp_path / "ck.npz")
    # (a cosine schedule's length is --epochs, so the shortened first run uses a constant lr)
    args = ["train", "--dataset", "digits", "--json", "--quiet", "--seed", "2", "--patience", "50",
            "--scheduler", "none"]
    assert main(args + ["--epochs", "3"]) == 0
    full = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(args + ["--epochs", "1", "--resume", ck]) == 0
    capsys.readouterr()
    assert main(args + ["--epochs", "3", "--resume", ck]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["epochs_run"] == 3
    assert resumed["test_accuracy"] == full["test_accuracy"]
    assert resumed["test_loss"] == pytest.approx(full["test_loss"], rel=1e-6)


def test_summary_command(capsys):
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d" in out or "conv" in out.lower()


def test_default_train_command_reaches_target(capsys):
    """`python -m autograd_cnn train` with no options: LeNet-5 on mnist5k, >= 96.5 % on the
    official 10,000-image MNIST test set."""
    assert main(["train", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    print(out[-2], result)
    assert result["test_accuracy"] >= 0.965


def test_train_from_idx_directory(tmp_path, capsys):
    """--data-dir with MNIST-format IDX files (written here; Fashion-MNIST has the same layout)."""
    import gzip

    import numpy as np

    def idx(arr):
        header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
        return header + arr.astype(np.uint8).tobytes()

    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("t10k", 40)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        images[np.arange(n), 2 + 2 * labels, 3:25] = 255  # a learnable stripe per class
        (tmp_path / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
        (tmp_path / f"{split}-labels-idx1-ubyte").write_bytes(idx(labels))
    assert main(["train", "--data-dir", str(tmp_path), "--epochs", "1", "--json",
                 "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["epochs_run"] == 1 and result["model"] == "lenet5"
