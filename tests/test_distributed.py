"""autograd_cnn.distributed: the parts that need no MPI job run here; the rest really launches
``mpiexec -n 2`` (tests/_distributed_worker.py, the CLI) and compares each rank's results with
single-process references. Every launch has a timeout, so a hang fails instead of blocking."""
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import distributed as dist
from autograd_cnn import nn
from autograd_cnn.data import DataLoader, TensorDataset

from _support import torch, requires_torch

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
WORLD = 2
TIMEOUT = 60  # seconds, per launch


def _mpiexec():
    if not dist.is_available():
        return None
    return (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
            or shutil.which("mpiexec"))


MPIEXEC = _mpiexec()
requires_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py or mpiexec is not installed "
                                  "(pip install \"autograd_cnn[distributed]\")")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _launch(args, cwd, ranks=WORLD, env=None):
    cmd = [MPIEXEC, "-n", str(ranks), sys.executable] if ranks else [sys.executable]
    return subprocess.run(cmd + list(args), cwd=cwd, env=env or _env(), capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def _worker():
    spec = importlib.util.spec_from_file_location("_distributed_worker",
                                                  HERE / "_distributed_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ without an MPI job ------
def test_importing_does_not_import_mpi4py_and_ranks_need_init():
    code = ("import sys\nimport autograd_cnn\nfrom autograd_cnn import distributed as d\n"
            "print('mpi4py' in sys.modules)\n"
            "try:\n    d.get_rank()\nexcept RuntimeError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=TIMEOUT)
    lines = out.stdout.splitlines()
    assert lines[0] == "False", out.stderr
    assert lines[1].startswith("refused:") and "init()" in lines[1]


def test_train_distributed_without_mpi4py_is_a_one_line_error(tmp_path):
    (tmp_path / "mpi4py").mkdir()
    (tmp_path / "mpi4py" / "__init__.py").write_text("raise ImportError('no mpi4py here')\n")
    env = _env()
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    run = subprocess.run([sys.executable, "-m", "autograd_cnn", "train", "--distributed"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert run.returncode == 2
    assert run.stderr.strip() == ("autograd_cnn: error: autograd_cnn.distributed needs mpi4py and "
                                  "an MPI library: pip install \"autograd_cnn[distributed]\" "
                                  "(mpi4py and mpich)")


def _indices(n, replicas, shuffle=True, drop_last=False, epoch=0):
    ds = TensorDataset(np.arange(n))
    parts = []
    for rank in range(replicas):
        s = dist.DistributedSampler(ds, num_replicas=replicas, rank=rank, shuffle=shuffle,
                                    seed=5, drop_last=drop_last)
        s.set_epoch(epoch)
        assert len(s) == len(s.epoch_indices())
        parts.append(s.epoch_indices())
    return parts


@pytest.mark.parametrize("n,replicas", [(12, 3), (10, 4), (3, 4), (7, 1)])
def test_sampler_covers_every_sample_once_plus_padding(n, replicas):
    parts = _indices(n, replicas)
    assert len({len(p) for p in parts}) == 1           # same number of batches on every rank
    both = np.concatenate(parts)
    assert set(both.tolist()) == set(range(n))          # every sample
    assert len(both) == -(-n // replicas) * replicas    # each once, plus the padding's repeats


def test_sampler_drop_last_and_epochs():
    parts = _indices(11, 2, drop_last=True)
    both = np.concatenate(parts)
    assert len(both) == 10 and len(set(both.tolist())) == 10
    assert not np.array_equal(_indices(11, 2, epoch=0)[0], _indices(11, 2, epoch=1)[0])
    assert np.array_equal(_indices(11, 2, epoch=1)[0], _indices(11, 2, epoch=1)[0])


def test_sampler_rejects_bad_arguments():
    ds = TensorDataset(np.arange(4))
    with pytest.raises(ValueError, match="invalid rank 2"):
        dist.DistributedSampler(ds, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        dist.DistributedSampler(ds, num_replicas=0, rank=0)


@requires_torch
@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 3, False)])
def test_sampler_matches_pytorch_without_shuffle(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    ours = _indices(n, replicas, shuffle=False, drop_last=drop_last)
    for rank in range(replicas):
        theirs = list(TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                   drop_last=drop_last))
        assert ours[rank].tolist() == theirs


def test_sync_batchnorm_alone_is_batchnorm_and_convert_shares_parameters():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float64), nn.BatchNorm2d(2, dtype=np.float64))
    bn = model[1]
    converted = dist.convert_sync_batchnorm(model)
    assert isinstance(converted[1], dist.SyncBatchNorm)
    assert converted[1].weight is bn.weight and converted[1].running_mean is bn.running_mean
    x = ac.tensor(np.random.default_rng(0).standard_normal((3, 1, 5, 5)))
    ref = nn.BatchNorm2d(2, dtype=np.float64)(model[0](x)).numpy()
    np.testing.assert_allclose(converted(x).numpy(), ref, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ under mpiexec -n 2 -------
@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Each rank's results of tests/_distributed_worker.py (one launch for all cases)."""
    if MPIEXEC is None:
        pytest.skip("mpi4py or mpiexec is not installed")
    out = tmp_path_factory.mktemp("ranks")
    run = _launch([str(HERE / "_distributed_worker.py"), str(out)], cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(WORLD)]


def _reference_training(dtype):
    """One process, the whole global batch, the same steps as the worker's ranks."""
    w = _worker()
    ac.manual_seed(0)
    model = w.make_model(dtype)
    opt = ac.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = w.data(dtype, WORLD)
    for _ in range(w.STEPS):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(ac.Tensor(x)), ac.Tensor(y)).backward()
        opt.step()
    return dict(model.named_parameters())


@requires_mpi
@pytest.mark.parametrize("dtype,accumulate,rtol", [(np.float64, 1, 1e-11), (np.float32, 0, 1e-4)])
def test_ranks_train_like_one_process_with_the_global_batch(ranks, dtype, accumulate, rtol):
    # float64, with no_sync gradient accumulation: equal to round-off in the last digits
    # (the sums over the batch are grouped differently); float32: to float32 round-off
    name = np.dtype(dtype).name
    assert ranks[0][f"buckets_{name}"] == 4  # one bucket per parameter here
    for pname, p in _reference_training(dtype).items():
        key = f"ddp_{name}_{accumulate}_{pname}"
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key])  # replicas identical
        np.testing.assert_allclose(ranks[0][key], p.numpy(), rtol=rtol, atol=rtol)


@requires_mpi
def test_unused_parameters(ranks):
    w = _worker()
    grads = []
    for rank in range(WORLD):
        ac.manual_seed(0)
        model = w.TwoLayers()
        model(ac.Tensor(np.full((2, 4), rank + 1.0)), rank == 0).sum().backward()
        grads.append(model)
    first = (grads[0].first.weight.grad.numpy() + grads[1].first.weight.grad.numpy()) / 2
    second = grads[0].second.weight.grad.numpy() / 2  # rank 1 did not use it: zero there
    for r in range(WORLD):
        np.testing.assert_allclose(ranks[r]["unused_first"], first, rtol=1e-12)
        np.testing.assert_allclose(ranks[r]["unused_second"], second, rtol=1e-12)
        msg = str(ranks[r]["unused_error"])
        assert "1 of 2 ranks received no gradient" in msg and "find_unused_parameters=True" in msg
        # the next backward, with every parameter used on both ranks, averages as usual
        np.testing.assert_allclose(ranks[r]["after_error_second"],
                                   (_second_grad(w, 0) + _second_grad(w, 1)) / 2, rtol=1e-12)
    mine = str(ranks[1]["unused_error"]).split("this rank's: ")[1].split(")")[0]
    assert sorted(mine.split(", ")) == ["second.bias", "second.weight"]
    assert "this rank had every gradient" in str(ranks[0]["unused_error"])


def _second_grad(w, rank):
    ac.manual_seed(1)
    model = w.TwoLayers()
    model(ac.Tensor(np.full((2, 4), rank + 1.0)), True).sum().backward()
    return model.second.weight.grad.numpy()


@requires_mpi
def test_a_rank_whose_backward_reaches_no_parameter_does_not_hang(ranks):
    # rank 1's output does not depend on the parameters: no hook fires there, but the output's
    # sink still makes it send (zeros) -- averaged with find_unused_parameters, else an error on
    # both ranks (a hang here would end the launch at its timeout)
    w = _worker()
    ac.manual_seed(0)
    model = w.FirstOrNothing()
    model(ac.Tensor(np.full((2, 4), 1.0)), True).sum().backward()
    for r in range(WORLD):
        np.testing.assert_allclose(ranks[r]["noparam_1"], model.first.weight.grad.numpy() / 2,
                                   rtol=1e-12)
        msg = str(ranks[r]["noparam_0"])
        assert "1 of 2 ranks received no gradient" in msg, msg
    mine = str(ranks[1]["noparam_0"]).split("this rank's: ")[1].split(")")[0]
    assert sorted(mine.split(", ")) == ["first.bias", "first.weight"]


def test_shard_sampler_slices_cover_the_set_once_in_order():
    for n, replicas in ((11, 2), (3, 4), (0, 2), (10, 3)):
        parts = [dist.DistributedShardSampler(range(n), num_replicas=replicas, rank=r)
                 for r in range(replicas)]
        assert np.concatenate([p.epoch_indices() for p in parts]).tolist() == list(range(n))
        assert [len(p) for p in parts] == [len(p.epoch_indices()) for p in parts]
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(ValueError, match="DistributedShardSampler: invalid rank 2"):
        dist.DistributedShardSampler(range(3), num_replicas=2, rank=2)


@requires_mpi
def test_validation_is_split_over_the_ranks_and_equals_one_process(ranks):
    from autograd_cnn.training import evaluate
    w = _worker()
    xv, yv, xt, yt = w.eval_data()
    ac.manual_seed(0)
    model = w.make_model(np.float64)
    loss, acc = evaluate(model, DataLoader(TensorDataset(xv, yv), batch_size=4),
                         nn.CrossEntropyLoss())
    one = w.eval_fit(model, DataLoader(TensorDataset(xt, yt), batch_size=4),
                     DataLoader(TensorDataset(xv, yv), batch_size=4))
    assert ranks[0]["eval_slice"].tolist() == list(range(5))  # 11 samples: 5 + 6
    assert ranks[1]["eval_slice"].tolist() == list(range(5, 11))
    for r in range(WORLD):
        np.testing.assert_allclose(ranks[r]["eval"], [loss, acc], rtol=1e-13)
        np.testing.assert_array_equal(ranks[r]["eval"], ranks[0]["eval"])
        # fit's validation, epoch by epoch, and its early-stopping decision
        np.testing.assert_allclose(ranks[r]["eval_fit_val"], [one.val_loss, one.val_acc],
                                   rtol=1e-13)
        np.testing.assert_array_equal(ranks[r]["eval_fit_val"], ranks[0]["eval_fit_val"])
        assert int(ranks[r]["eval_fit_epochs"]) == one.epochs_run < 4  # stopped early


@requires_mpi
def test_wrap_broadcasts_rank0_parameters_and_buffers(ranks):
    for r in range(WORLD):
        np.testing.assert_array_equal(ranks[r]["buffers_at_wrap"], [1.0, 1.0])
        # eval-style forwards (no_grad) send nothing: each rank keeps its own statistics
        np.testing.assert_array_equal(ranks[r]["buffers_no_grad"], [r + 5.0, r + 5.0])


@requires_mpi
def test_sampler_under_mpiexec_visits_every_sample_once_per_epoch(ranks):
    for n, drop_last in ((10, 0), (11, 0), (11, 1)):
        orders = []
        for epoch in range(2):
            key = f"sampler_{n}_{drop_last}_{epoch}"
            both = np.concatenate([ranks[0][key], ranks[1][key]])
            assert len(ranks[0][key]) == len(ranks[1][key])
            if n % WORLD == 0:
                assert sorted(both.tolist()) == list(range(n))
            elif drop_last:
                assert len(both) == n - 1 and len(set(both.tolist())) == n - 1
            else:
                assert set(both.tolist()) == set(range(n)) and len(both) == n + 1
            orders.append(both)
        assert not np.array_equal(orders[0], orders[1])  # set_epoch: a new order


@requires_mpi
def test_sync_batchnorm_is_batchnorm_of_the_concatenated_batch(ranks):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((WORLD * 3, 2, 4, 5)) * 3 + 5
    g = rng.standard_normal(x.shape)
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    bn.weight.numpy()[...] = [1.5, -0.5]
    bn.bias.numpy()[...] = [0.2, 0.1]
    xt = ac.Tensor(x, requires_grad=True)
    y = bn(xt)
    (y * ac.Tensor(g)).sum().backward()
    tol = dict(rtol=1e-10, atol=1e-12)
    for r in range(WORLD):
        part = slice(r * 3, (r + 1) * 3)
        np.testing.assert_allclose(ranks[r]["sbn_y"], y.numpy()[part], **tol)
        np.testing.assert_allclose(ranks[r]["sbn_dx"], xt.grad.numpy()[part], **tol)
        np.testing.assert_allclose(ranks[r]["sbn_rm"], bn.running_mean.numpy(), **tol)
        np.testing.assert_allclose(ranks[r]["sbn_rv"], bn.running_var.numpy(), **tol)
    # each rank holds the gradient of its own loss; their sum is the whole batch's
    np.testing.assert_allclose(ranks[0]["sbn_dw"] + ranks[1]["sbn_dw"], bn.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(ranks[0]["sbn_db"] + ranks[1]["sbn_db"], bn.bias.grad.numpy(), **tol)


@requires_mpi
def test_a_failing_rank_aborts_the_job_with_its_message(tmp_path):
    run = _launch([str(HERE / "_distributed_worker.py"), "raise"], cwd=tmp_path)
    text = run.stdout + run.stderr
    assert run.returncode != 0, text
    assert "rank 1 fails on purpose" in text and "rank 1 of 2 failed" in text, text


@requires_mpi
def test_a_rank_that_exits_with_an_error_ends_the_job(tmp_path):
    # rank 1 leaves with status 2 while rank 0 waits in a collective: without the abort, rank 1
    # would wait in MPI_Finalize for rank 0, and rank 0 for rank 1, forever
    code = ("import sys\nfrom autograd_cnn import distributed as d\nd.init()\n"
            "if d.get_rank() == 1:\n    sys.exit(d.process_group.exit_status(2))\nd.barrier()\n")
    run = _launch(["-c", code], tmp_path)
    assert run.returncode != 0
    usage = _launch(["-m", "autograd_cnn", "train", "--distributed", "--batch-size", "63"],
                    tmp_path)
    assert usage.returncode != 0 and "must be a multiple of the 2 ranks" in usage.stderr


@requires_mpi
def test_a_rank_started_without_its_peers_says_so(tmp_path):
    env = _env()
    env["OMPI_COMM_WORLD_SIZE"] = "2"  # what Open MPI's launcher tells each of its ranks
    run = _launch(["-c", "from autograd_cnn import distributed as d; d.init()"], tmp_path,
                  ranks=0, env=env)
    assert run.returncode != 0 and "without its peers" in run.stderr


@requires_mpi
def test_train_command_distributed_then_resumed_in_one_process(tmp_path):
    ck = tmp_path / "ck.pkl"
    common = ["-m", "autograd_cnn", "train", "--dataset", "digits", "--batch-size", "64",
              "--json", "--checkpoint", str(ck)]
    run = _launch(common + ["--distributed", "--epochs", "2"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Test accuracy") == 1  # rank 0 alone speaks
    assert "Distributed: 2 ranks" in run.stdout
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["epochs_run"] == 2 and result["images_trained"] == 2 * 1294
    resumed = _launch(common[:-2] + ["--resume", str(ck), "--epochs", "3"], cwd=tmp_path, ranks=0)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resumed from" in resumed.stdout
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["epochs_run"] == 3
    # and back to MPI: a one-process --distributed run (world size 1) writes the same kind of
    # checkpoint, which two ranks continue
    alone = _launch(common[:-2] + ["--resume", str(ck), "--epochs", "4", "--distributed"],
                    cwd=tmp_path, ranks=0)
    assert alone.returncode == 0 and "started alone" in alone.stderr, alone.stderr
    again = _launch(common[:-2] + ["--resume", str(ck), "--epochs", "5", "--distributed"],
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["epochs_run"] == 5
