"""The measuring instrument: the FMA peak probe and `python -m autograd_cnn bench` (tiny runs)."""
import contextlib
import json
import math
import os
import types

import numpy as np
import pytest

import autograd_cnn as acnn
from autograd_cnn import _C, bench
from _support import requires_torch, torch

FIELDS = {"case", "description", "phase", "dtype", "threads", "isa", "status", "ours_ms",
          "torch_ms", "ratio", "unit", "work", "ours_rate", "torch_rate", "peak_gflops",
          "pct_peak", "ours_peak_mib", "torch_peak_mib", "repeat", "stat"}
TINY = ["--json", "--repeat", "1", "--threads", "1", "--probe-seconds", "0.01"]


@pytest.mark.parametrize("is_double", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_probe_is_positive_and_finite(is_double, threads):
    gflops = _C.probe_fma_peak(is_double, threads, 0.01)
    assert math.isfinite(gflops) and gflops > 0


@pytest.mark.parametrize("isa", ["avx2", "baseline"])
def test_probe_runs_on_every_available_isa(isa):
    if isa not in acnn.backend_info()["available_isas"]:
        pytest.skip("%s is not available here" % isa)
    before = acnn.get_isa()
    try:
        acnn.set_isa(isa)
        assert _C.probe_fma_peak(False, 1, 0.01) > 0
    finally:
        acnn.set_isa(before)


@pytest.mark.parametrize("threads, seconds", [(0, 0.01), (1, 0.0), (1, -1.0), (1, 1e9)])
def test_probe_rejects_bad_arguments(threads, seconds):
    with pytest.raises(ValueError, match="probe_fma_peak"):
        _C.probe_fma_peak(False, threads, seconds)


def run_json(capsys, *extra):
    assert bench.main(TINY + list(extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_json_conv_case_has_documented_fields(capsys):
    records = run_json(capsys, "--cases", "lenet_conv1")
    assert [r["phase"] for r in records] == ["forward", "backward_data", "backward_weight"]
    for r in records:
        assert set(r) == FIELDS
        assert r["case"] == "lenet_conv1" and r["dtype"] == "float32" and r["threads"] == 1
        assert r["unit"] == "GFLOP/s" and r["repeat"] == 1 and r["stat"] == "median"
        # 2 * N * C_out * out_pixels * C_in * kH * kW, out 32 - 5 + 1 = 28
        assert r["work"] == 2 * 64 * 6 * 28 * 28 * 1 * 5 * 5
        assert r["peak_gflops"] > 0
        assert r["status"] == "ok" or r["status"].startswith("n/a")
        if r["status"] == "ok":
            assert r["ours_ms"] > 0 and r["ours_rate"] > 0 and r["pct_peak"] > 0
        else:
            assert r["ours_ms"] is None and r["pct_peak"] is None
        if r["torch_ms"] is not None:
            assert r["torch_rate"] > 0


def test_json_pool_case_counts_bytes(capsys):
    records = run_json(capsys, "--cases", "avgpool2x2_lenet", "--dtype", "float64")
    assert [r["phase"] for r in records] == ["forward", "backward"]
    for r in records:
        assert r["unit"] == "GB/s" and r["dtype"] == "float64" and r["pct_peak"] is None
        assert r["work"] == (64 * 6 * 28 * 28 + 64 * 6 * 14 * 14) * 8


def test_table_output_prints_every_record(capsys):
    assert bench.main(["--repeat", "1", "--threads", "1", "--probe-seconds", "0.01",
                       "--cases", "conv1d_k7d4"]) == 0
    out = capsys.readouterr().out
    assert "FMA peak (probe)" in out
    assert sum(line.startswith("conv1d_k7d4 ") for line in out.splitlines()) == 3


def test_thread_count_is_restored(capsys):
    before = acnn.get_num_threads()
    run_json(capsys, "--cases", "lenet_conv2", "--threads", "2")
    assert acnn.get_num_threads() == before


@pytest.mark.parametrize("argv", [
    ["--threads", "0"], ["--threads", "a,b"], ["--repeat", "0"], ["--repeat", "x"],
    ["--dtype", "float16"], ["--isa", "neon"], ["--cases", "no_such_case"],
    ["--probe-seconds", "0"], ["--stat", "mean"], ["--bogus"],
])
def test_bad_options_exit_2_with_one_line(capsys, argv):
    with pytest.raises(SystemExit) as info:
        bench.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_every_case_name_is_unique_and_selectable():
    names = [c.name for c in bench.CASES]
    assert len(set(names)) == len(names)
    for name in names:
        assert name in [c.name for c in bench.select_cases(name)]


def test_without_torch_the_torch_columns_are_null(capsys, monkeypatch):
    monkeypatch.setattr(bench.bm, "torch_library", lambda: None)
    for r in run_json(capsys, "--cases", "maxpool2x2_lenet"):
        assert r["torch_ms"] is None and r["ratio"] is None and r["torch_rate"] is None


def test_a_pytorch_error_gives_na_not_a_crash(capsys, monkeypatch):
    """PyTorch is optional and outside our control: its RuntimeError leaves the torch columns
    null and says why in the status; our own columns are measured as usual."""
    def broken(*args, **kwargs):
        raise RuntimeError("not implemented for this input")

    fake_torch = types.SimpleNamespace(no_grad=contextlib.nullcontext,
                                       get_num_threads=lambda: 1, set_num_threads=lambda n: None)
    functional = types.SimpleNamespace(conv2d=broken, avg_pool2d=broken)
    monkeypatch.setattr(bench.bm, "torch_library", lambda: bench.bm.Library(
        "broken", fake_torch, functional, lambda a, rg: a))
    records = run_json(capsys, "--cases", "lenet_conv2,avgpool2x2_lenet")
    assert len(records) == 5
    for r in records:
        assert r["status"].startswith("ok (torch: n/a: RuntimeError")
        assert "not implemented" in r["status"]
        assert r["torch_ms"] is None and r["ratio"] is None and r["ours_ms"] > 0
    monkeypatch.undo()
    assert bench.main(["--repeat", "1", "--threads", "1", "--probe-seconds", "0.01",
                       "--cases", "lenet_conv2"]) == 0


def test_lenet_train_case_reports_images_per_second(capsys):
    (r,) = run_json(capsys, "--cases", "lenet5_train")
    assert r["unit"] == "img/s" and r["work"] == 64 and r["pct_peak"] is None
    if r["status"].startswith("ok"):
        assert r["ours_rate"] == pytest.approx(64 / (r["ours_ms"] * 1e-3))


def test_isa_option_is_used_and_restored(capsys):
    available = acnn.backend_info()["available_isas"]
    before = acnn.get_isa()
    records = run_json(capsys, "--cases", "avgpool2x2_lenet", "--isa", "baseline")
    assert "baseline" in available and all(r["isa"] == "baseline" for r in records)
    assert acnn.get_isa() == before


def test_numpy_blas_thread_control_round_trips():
    from autograd_cnn import backend
    before = backend.get_blas_threads()
    if before is None:
        pytest.skip("NumPy is not linked with a known OpenBLAS here")
    try:
        assert backend.set_blas_threads(1)
        assert backend.get_blas_threads() == 1
    finally:
        backend.set_blas_threads(before)
    assert backend.get_blas_threads() == before
    with pytest.raises(ValueError, match="set_blas_threads"):
        backend.set_blas_threads(0)


def test_stat_min_is_recorded(capsys):
    records = run_json(capsys, "--cases", "maxpool2x2_lenet", "--stat", "min", "--repeat", "2")
    assert all(r["stat"] == "min" and r["repeat"] == 2 for r in records)


def test_networks_report_each_phase_with_its_batch(capsys):
    records = run_json(capsys, "--networks", "--cases", "lenet5")
    assert [r["phase"] for r in records] == list(bench.bm.NETWORK_PHASES)
    assert [r["work"] for r in records] == [64, 64, 1]
    for r in records:
        assert set(r) == FIELDS and r["unit"] == "img/s" and r["ours_ms"] > 0
        assert r["pct_peak"] is None
        if r["torch_ms"] is not None:
            assert r["ratio"] == pytest.approx(r["ours_ms"] / r["torch_ms"])
    train = records[0]
    if os.path.exists("/proc/self/clear_refs"):
        assert train["ours_peak_mib"] is not None and train["ours_peak_mib"] >= 0
    assert all(r["ours_peak_mib"] is None for r in records[1:])


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux only")
def test_step_memory_counts_what_a_step_keeps_for_the_next():
    # A step that allocates 64 MiB on its first call and keeps it (a cache) holds 64 MiB at its
    # peak: measured from after the warm-up it would look free.
    kept = []

    def step():
        if not kept:
            kept.append(np.ones(64 << 18, np.float32))  # 64 MiB, touched
        scratch = np.ones(8 << 18, np.float32)  # 8 MiB, freed at the end of each call
        del scratch

    held = bench.bm.held_peak_memory(step)
    assert held >= 64 << 20
    assert bench.bm.peak_memory_growth(step) < 64 << 20
    # what init() sets up before the baseline (a library's one-time set-up) does not count
    setup = []
    assert bench.bm.held_peak_memory(lambda: None, init=lambda: setup.append(
        np.ones(64 << 18, np.float32))) < 32 << 20


def test_network_cases_are_selectable_and_kernel_cases_are_not_networks():
    names = [c.name for c in bench.select_cases("", networks=True)]
    assert {"lenet5", "resnet20", "vgg_cifar", "conv1dnet"} <= set(names)
    assert not any(c.kind == "network" for c in bench.select_cases(""))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--networks", "--cases", "no_such_net"])
    assert exit_.value.code == 2


@requires_torch
@pytest.mark.parametrize("case", bench.bm.NETWORK_CASES, ids=lambda c: c.name)
def test_network_twins_hold_our_weights(case):
    """What `bench --networks` compares is the same function: the twin's eval output is ours."""
    model, twin = case.pair(np.float64, with_twin=True)
    x, _ = case.batch(3, np.float64, np.random.default_rng(0))
    model.eval()
    twin.eval()
    with acnn.no_grad():
        ours = model(acnn.tensor(x)).numpy()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
