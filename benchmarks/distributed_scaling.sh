#!/usr/bin/env bash
# The data-parallel scaling table for a many-core machine: LeNet-5 training steps of
# autograd_cnn's DistributedDataParallel (MPI) and PyTorch's (gloo) at 1, 2, 4, 8 and 16 ranks,
# each with 1 thread and with cores / ranks threads, global batch 256, ranks x threads <= cores.
# About two minutes on 16 cores. Needs mpi4py + mpich (pip install -e ".[distributed]") and torch.
#
#   bash benchmarks/distributed_scaling.sh                  # CORES defaults to nproc
#   CORES=16 bash benchmarks/distributed_scaling.sh --repeat 3
#
# Extra arguments go to benchmarks/bench_distributed.py (see its --help): --network resnet20 for
# ResNet-20, --per-rank-batch 32 to keep each rank's batch; on a shared machine, --stat min
# --repeat 3, or run the script with --interleave (ours only) instead of this grid.
set -euo pipefail
cd "$(dirname "$0")/.."
cores="${CORES:-$(nproc)}"
lscpu | grep -m1 "Model name" || true
exec python benchmarks/bench_distributed.py --ranks 1,2,4,8,16 --threads 1,auto \
  --cores "$cores" --global-batch 256 --steps 30 "$@"
