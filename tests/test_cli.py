"""The command line: argument errors, the train command (JSON output, default accuracy), summary."""
import json
import math
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


# ------------------------------------------------------------- refused before any training


def _idx(arr):
    import numpy as np

    header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


def _idx_dir(root, size=28, classes=10, n=(60, 20)):
    import numpy as np

    rng = np.random.default_rng(1)
    for split, count in zip(("train", "t10k"), n):
        labels = np.arange(count) % classes
        images = rng.integers(0, 255, (count, size, size))
        (root / f"{split}-images-idx3-ubyte").write_bytes(_idx(images))
        (root / f"{split}-labels-idx1-ubyte").write_bytes(_idx(labels))
    return str(root)


@pytest.mark.parametrize("argv, words", [
    (["train", "--threads", "100000"], ["--threads", "<= 1024", "100000"]),
    (["train", "--threads", str(2 ** 40)], ["--threads", str(2 ** 40)]),
    (["train", "--dataset", "digits", "--val-fraction", "0.99999999"],
     ["--val-fraction", "no training samples"]),
    (["train", "--save", "/nonexistent/dir/m.npz"], ["--save", "does not exist"]),
    (["train", "--checkpoint", "/nonexistent/dir/c.npz"], ["--checkpoint", "does not exist"]),
    (["train", "--resume", "/nonexistent/dir/c.npz"], ["--resume", "does not exist"]),
    (["summary", "lenet5", "--input-shape", ""], ["--input-shape", "''"]),
    (["summary", "lenet5", "--input-shape", "1,99999,99999"], ["lenet5", "1x99999x99999"]),
    (["summary", "mlp", "--input-shape", "1,99999,99999"], ["--input-shape", "too large"]),
])
def test_refused_in_one_line_before_any_work(argv, words, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.out == ""
    for word in words:
        assert word in captured.err


def test_save_to_a_directory_is_refused_up_front(tmp_path, capsys):
    assert main(["train", "--save", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_resumed_cosine_run_follows_the_new_epoch_count(tmp_path, capsys):
    # a 2-epoch cosine run resumed with --epochs 4 anneals over 4 epochs from where it was
    from autograd_cnn.serialization import load
    ck = str(tmp_path / "ck.npz")
    args = ["train", "--dataset", "digits", "--quiet", "--patience", "50", "--optimizer", "sgd",
            "--lr", "0.1", "--resume", ck]
    assert main(args + ["--epochs", "2"]) == 0
    assert main(args + ["--epochs", "4"]) == 0
    capsys.readouterr()
    lrs = load(ck)["history"]["lr"]
    curve = [0.1 * (1 + math.cos(math.pi * t / T)) / 2 for t, T in ((0, 2), (1, 2), (2, 4), (3, 4))]
    assert lrs == pytest.approx(curve, rel=1e-12)  # lr of each epoch; the old curve gave 0 at 3


@pytest.mark.parametrize("content, words", [
    (b"PK\x03\x04 not really a zip", ["--resume"]),
    (None, ["not a training checkpoint", "--checkpoint"]),  # a --save file: weights only
])
def test_resume_of_a_wrong_file_is_refused(tmp_path, content, words, capsys):
    path = tmp_path / "ck.npz"
    if content is None:
        import autograd_cnn as ac
        from autograd_cnn.models import LeNet5

        ac.save({"model": LeNet5().state_dict(), "model_name": "lenet5"}, path)
    else:
        path.write_bytes(content)
    assert main(["train", "--resume", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for word in words:
        assert word in err


def test_idx_data_with_more_classes_trains_a_wider_head(tmp_path, capsys):
    root = _idx_dir(tmp_path, classes=12)
    assert main(["train", "--data-dir", root, "--epochs", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert "12 classes" in out and json.loads(out.strip().splitlines()[-1])["epochs_run"] == 1


def test_idx_data_of_32x32_images_runs_lenet5_at_its_original_size(tmp_path, capsys):
    root = _idx_dir(tmp_path, size=32)
    assert main(["train", "--data-dir", root, "--epochs", "1", "--quiet", "--json"]) == 0


def test_idx_data_of_8x8_images_is_refused_for_lenet5(tmp_path, capsys):
    root = _idx_dir(tmp_path, size=8)
    assert main(["train", "--data-dir", root, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "lenet5 takes 1x28x28 or 1x32x32" in err and "1x8x8" in err
    assert main(["train", "--data-dir", root, "--model", "smallcnn", "--epochs", "1",
                 "--quiet"]) == 0


# ---------------------------------------------------------------------------------- Ctrl-C


def _train_process(tmp_path, *extra):
    import signal

    # SIGINT back to its default in the child: a test run started in the background of a shell
    # without job control inherits it ignored, and Python then installs no KeyboardInterrupt
    return subprocess.Popen(
        [sys.executable, "-m", "autograd_cnn", "train", "--dataset", "mnist5k", "--epochs", "50",
         "--patience", "50", "--save", str(tmp_path / "m.npz"), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_line(proc, text, timeout=120):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"the training process never printed {text!r}")


def test_one_ctrl_c_ends_training_cleanly_and_saves(tmp_path):
    import signal

    proc = _train_process(tmp_path)
    _wait_for_line(proc, "Epoch 1/")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err
    assert "Interrupted" in out and (tmp_path / "m.npz").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_two_quick_ctrl_c_exit_130_in_one_line_with_no_half_file(tmp_path):
    import signal
    import time

    proc = _train_process(tmp_path)
    _wait_for_line(proc, "Epoch 1/")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130) and "Traceback" not in err
    if proc.returncode == 130:
        assert err.strip() == "autograd_cnn: interrupted"
    assert not list(tmp_path.glob(".*.tmp"))  # never a temporary left behind
    if (tmp_path / "m.npz").exists():  # and a file that exists is whole
        import autograd_cnn as ac

        assert "model" in ac.load(tmp_path / "m.npz")


def test_ctrl_c_during_start_up_exits_130_in_one_line(tmp_path):
    import signal
    import time

    proc = _train_process(tmp_path, "--quiet")
    time.sleep(0.5)  # importing the package, loading data or building the model
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    assert proc.returncode in (0, 130)
    if proc.returncode == 130:
        assert err.strip() == "autograd_cnn: interrupted"


def test_resume_with_another_optimizer_is_refused_before_training(tmp_path, capsys):
    ck = str(tmp_path / "ck.npz")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--optimizer", "sgd",
                 "--checkpoint", ck]) == 0
    capsys.readouterr()
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--quiet", "--optimizer", "adam",
                 "--resume", ck]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another optimizer" in err and "--optimizer" in err


def test_sigint_deferral_leaves_other_handlers_alone():
    import signal

    from autograd_cnn.cli import _sigint_deferred

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _sigint_deferred():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)  # ignored, as its owner asked: no exception
    finally:
        signal.signal(signal.SIGINT, previous)
    # with Python's own handler (set here: a run started in the background may have SIGINT
    # ignored): held, then raised
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with _sigint_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                assert True  # still running inside the block
    finally:
        signal.signal(signal.SIGINT, previous)
