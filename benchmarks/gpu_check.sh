#!/usr/bin/env bash
# Every GPU check in one run, for a CUDA machine with PyTorch (TensorRT and PyAV where installed):
#   1. machine.txt    the GPU, driver and library versions;
#   2. gpu-tests.log  the tests marked gpu/tensorrt (parity with ONNX Runtime, CUDA graphs, engines);
#   3. gpu_bench.*    benchmarks/gpu_bench.py: every backend and the eager PyTorch loop, 360p-1080p.
# Usage: bash benchmarks/gpu_check.sh [OUT_DIR]   (default gpu-check/; $OUT when set)
# vstyle is used from this checkout (PYTHONPATH), so nothing needs installing where PyTorch, ONNX
# Runtime, onnx, OpenCV and tqdm are present; without PyAV the NVDEC/NVENC tests are left out.
# Each step has its own time limit (TESTS_TIMEOUT, BENCH_TIMEOUT seconds) so one stuck step
# cannot take the whole run; the exit status is the first failing step's.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-check}}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv || echo "nvidia-smi: none"
  "$py" - <<'PY'
import importlib, platform
print("python", platform.python_version())
for name in ("torch", "tensorrt", "onnxruntime", "onnx", "av", "cv2", "numpy"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as error:  # missing or broken: say which
        print(name, "unavailable:", type(error).__name__, error)
import torch
print("cuda", torch.version.cuda, "available", torch.cuda.is_available())
PY
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

skip=()
"$py" -c "import av" 2>/dev/null || skip=(--ignore tests/gpu/test_hwvideo_gpu.py)
timeout "${TESTS_TIMEOUT:-300}" "$py" -m pytest tests/gpu -q -p no:cacheprovider -m "gpu or tensorrt" \
  "${skip[@]}" 2>&1 | tee "$out/gpu-tests.log"
step=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$step

timeout "${BENCH_TIMEOUT:-300}" "$py" benchmarks/gpu_bench.py --runs "${RUNS:-50}" --warmup "${WARMUP:-10}" \
  --out "$out" 2>&1 | tee "$out/gpu_bench.log"
step=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$step
exit "$status"
