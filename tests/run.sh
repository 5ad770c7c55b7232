#!/usr/bin/env bash
# The test command (README): makes a virtual environment in .venv, installs vstyle with its test
# extra, and runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
py=.venv/bin/python
# PyTorch is only needed by the tests (model definitions, export, parity). Pinned: on machines that
# carry a local CPU wheel of this version pip takes it, instead of resolving the newest release with
# several GB of CUDA packages. Set VSTYLE_TORCH_SPEC to choose another build.
if ! $py -c "import torch" 2>/dev/null; then
  $py -m pip install -q "${VSTYLE_TORCH_SPEC:-torch==2.13.0}"
fi
$py -m pip install -q -e ".[test]"
exec $py -m pytest "$@"
