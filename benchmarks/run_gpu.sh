#!/usr/bin/env bash
# The GPU checks and figures of accel, as one run on a machine with a CUDA device, CuPy, PyTorch and Triton
# (the development H200). Offline: cut-cross-entropy and liger-kernel come as wheels in .whl/ (see
# benchmarks/linear_ce_gpu.py). Writes its logs and JSON into ${OUT:-.}.
set -o pipefail
export PYTHONUNBUFFERED=1
out=${OUT:-.}
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
[ -e refloss/proofs ] || ln -s ../proofs refloss/proofs  # the wheel's refloss.proofs, from the source tree
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_accel_gpu.py tests/test_accel.py 2>&1 | tee "$out/gpu_tests.log"
# float32: the dtype accel computes in (cut-cross-entropy's backward needs bf16/fp16: its rows say so)
timeout 240 python3 benchmarks/linear_ce_gpu.py --variants floor,torch-materialised,torch-compile,liger,accel-cupy,accel-cupy-1024 \
    --json "$out/bench_fp32.json" 2>&1 | tee "$out/bench_fp32.log"
# bfloat16: the peers in their own headline dtype, for reference (accel has no bf16 kernel)
timeout 200 python3 benchmarks/linear_ce_gpu.py --dtype bfloat16 --variants floor,torch-materialised,cce,liger \
    --json "$out/bench_bf16.json" 2>&1 | tee "$out/bench_bf16.log"
