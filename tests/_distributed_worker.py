"""Run by tests/test_distributed.py under ``mpiexec -n 2``: each rank does its part of the
cases and saves what it got to ``OUT/rank<r>.npz``; the test compares them with single-process
references. ``python _distributed_worker.py OUT`` (or ``... raise`` for the failure case)."""
import sys

import numpy as np

import autograd_cnn as ac
from autograd_cnn import distributed as dist
from autograd_cnn import nn
from autograd_cnn.data import DataLoader, TensorDataset

B, STEPS = 4, 3  # per-rank batch, optimizer steps


def make_model(dtype):
    return nn.Sequential(nn.Conv2d(1, 3, 3, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 5, dtype=dtype))


def data(dtype, world):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((world * B, 1, 6, 6)).astype(dtype)
    y = rng.integers(0, 5, world * B)
    return x, y


def ddp_case(dtype, accumulate, out, rank, world):
    ac.manual_seed(rank)  # different on each rank: the wrap must broadcast rank 0's weights
    model = dist.DistributedDataParallel(make_model(dtype), bucket_cap_mb=1e-6)
    opt = ac.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data(dtype, world)
    xs, ys = x[rank * B:(rank + 1) * B], y[rank * B:(rank + 1) * B]
    for step in range(STEPS):
        opt.zero_grad()
        if accumulate:  # two half batches, the first without synchronising
            with model.no_sync():
                (loss_fn(model(ac.Tensor(xs[:B // 2])), ac.Tensor(ys[:B // 2])) * 0.5).backward()
            (loss_fn(model(ac.Tensor(xs[B // 2:])), ac.Tensor(ys[B // 2:])) * 0.5).backward()
        else:
            loss_fn(model(ac.Tensor(xs)), ac.Tensor(ys)).backward()
        opt.step()
    for name, p in model.module.named_parameters():
        out[f"ddp_{np.dtype(dtype).name}_{int(accumulate)}_{name}"] = p.numpy()
    out[f"buckets_{np.dtype(dtype).name}"] = np.array(len(model._buckets))


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(4, 3, dtype=np.float64), nn.Linear(3, 2, dtype=np.float64)

    def forward(self, x, use_second):
        h = self.first(x)
        return self.second(h) if use_second else h


def unused_case(out, rank):
    ac.manual_seed(0)
    model = dist.DistributedDataParallel(TwoLayers(), find_unused_parameters=True)
    x = ac.Tensor(np.full((2, 4), rank + 1.0))
    # rank 1 leaves the second layer out: its gradient becomes rank 0's over 2
    model(x, rank == 0).sum().backward()
    out["unused_first"] = model.module.first.weight.grad.numpy()
    out["unused_second"] = model.module.second.weight.grad.numpy()
    ac.manual_seed(1)
    strict = dist.DistributedDataParallel(TwoLayers())
    try:  # rank 1 alone leaves the second layer out: both ranks raise, neither waits forever
        strict(x, rank == 0).sum().backward()
    except RuntimeError as exc:
        out["unused_error"] = np.array(str(exc))
    strict.module.zero_grad()
    strict(x, True).sum().backward()  # and the next backward averages as usual
    out["after_error_second"] = strict.module.second.weight.grad.numpy()


class FirstOrNothing(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 3, dtype=np.float64)

    def forward(self, x, use_first):
        return self.first(x) if use_first else x * 2.0


def no_parameter_case(out, rank):
    """Rank 1's backward reaches no parameter at all: no hook fires there."""
    x = ac.Tensor(np.full((2, 4), rank + 1.0), requires_grad=True)
    for unused in (True, False):
        ac.manual_seed(0)
        model = dist.DistributedDataParallel(FirstOrNothing(), find_unused_parameters=unused)
        try:
            model(x, rank == 0).sum().backward()
            out[f"noparam_{int(unused)}"] = model.module.first.weight.grad.numpy()
        except RuntimeError as exc:
            out[f"noparam_{int(unused)}"] = np.array(str(exc))


def buffers_case(out, rank):
    bn = nn.BatchNorm1d(2)
    bn.running_mean.numpy()[...] = rank + 1.0
    model = dist.DistributedDataParallel(bn)
    out["buffers_at_wrap"] = bn.running_mean.numpy().copy()
    bn.running_mean.numpy()[...] = rank + 5.0
    model.eval()
    with ac.no_grad():  # no training forward: no broadcast
        model(ac.Tensor(np.ones((3, 2), dtype=np.float32)))
    out["buffers_no_grad"] = bn.running_mean.numpy().copy()


def sampler_case(out, rank):
    for n, drop_last in ((10, False), (11, False), (11, True)):
        ds = TensorDataset(np.arange(n), np.arange(n))
        sampler = dist.DistributedSampler(ds, seed=3, drop_last=drop_last)
        loader = DataLoader(ds, batch_size=2, sampler=sampler, as_tensor=False)
        for epoch in range(2):
            sampler.set_epoch(epoch)
            seen = np.concatenate([xb for xb, _ in loader])
            out[f"sampler_{n}_{int(drop_last)}_{epoch}"] = seen


def syncbn_case(out, rank, world):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((world * 3, 2, 4, 5)) * 3 + 5
    g = rng.standard_normal(x.shape)
    bn = dist.SyncBatchNorm(2, dtype=np.float64)
    bn.weight.numpy()[...] = [1.5, -0.5]
    bn.bias.numpy()[...] = [0.2, 0.1]
    xs = ac.Tensor(x[rank * 3:(rank + 1) * 3].copy(), requires_grad=True)
    y = bn(xs)
    (y * ac.Tensor(g[rank * 3:(rank + 1) * 3])).sum().backward()
    out["sbn_y"], out["sbn_dx"] = y.numpy(), xs.grad.numpy()
    out["sbn_dw"], out["sbn_db"] = bn.weight.grad.numpy(), bn.bias.grad.numpy()
    out["sbn_rm"], out["sbn_rv"] = bn.running_mean.numpy(), bn.running_var.numpy()


EVAL_N = 11  # validation samples: the two ranks' slices differ in size


def eval_data():
    rng = np.random.default_rng(4)
    return (rng.standard_normal((EVAL_N, 1, 6, 6)), rng.integers(0, 5, EVAL_N),
            rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 5, 8))


def eval_fit(model, train_loader, val_loader):
    """fit with lr 0 (the model stays as it is) and early stopping: the validation figures of
    every epoch are the model's, and early stopping ends training before epoch 4."""
    from autograd_cnn.training import EarlyStopping, fit
    opt = ac.optim.SGD(model.parameters(), lr=0.0)
    return fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader, epochs=4,
               early_stopping=EarlyStopping(patience=1), verbose=False)


def eval_case(out, rank):
    """Validation split over the ranks: each evaluates its slice, the sums are reduced."""
    from autograd_cnn.training import evaluate
    xv, yv, xt, yt = eval_data()
    ac.manual_seed(0)
    model = dist.DistributedDataParallel(make_model(np.float64))
    val = TensorDataset(xv, yv)
    val_loader = DataLoader(val, batch_size=4, sampler=dist.DistributedShardSampler(val))
    out["eval_slice"] = np.asarray(val_loader.sampler.epoch_indices())
    out["eval"] = np.array(evaluate(model.module, val_loader, nn.CrossEntropyLoss(),
                                    sum_over_ranks=True))
    train = TensorDataset(xt, yt)
    history = eval_fit(model, DataLoader(train, batch_size=2,
                                         sampler=dist.DistributedSampler(train)), val_loader)
    out["eval_fit_val"] = np.array([history.val_loss, history.val_acc])
    out["eval_fit_epochs"] = np.array(history.epochs_run)


def main():
    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    if sys.argv[1] == "raise":
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.barrier()  # rank 0 would wait here forever without the abort
        return
    out = {}
    ddp_case(np.float64, True, out, rank, world)
    ddp_case(np.float32, False, out, rank, world)
    unused_case(out, rank)
    no_parameter_case(out, rank)
    eval_case(out, rank)
    buffers_case(out, rank)
    sampler_case(out, rank)
    syncbn_case(out, rank, world)
    np.savez(f"{sys.argv[1]}/rank{rank}.npz", **out)


if __name__ == "__main__":
    main()
