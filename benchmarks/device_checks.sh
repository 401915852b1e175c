#!/usr/bin/env bash
# The checks that need the device machine (one NVIDIA GPU, 16 cores), in one run of about 8 minutes:
#   1. tests/tuner/test_cuda.py: the surrogate's CUDA path against the CPU one (issue 12);
#   2. seconds per ask+tell on the GPU at 1000-10000 observations of Hartmann6 (issue 12: <= 2 s at 10000);
#   3. the DisCo table at 5000 W + 5000 QCD jets, trained on the GPU, jets generated on 16 cores (issue 14);
#   4. LRP throughput of the example CNN on the GPU at batch 4096 beside captum and zennit (issue 14).
# 2 runs on the GPU while 3's jets are generated on the CPU cores.
#
# Run from the repository root, with the wheels of what the machine's image lacks in .whl/ (Python 3.12),
# fetched beforehand where pip reaches a registry:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl pythia8mc==8.317.2 \
#     fastjet==3.5.2.0 awkward==2.14.0 awkward_cpp==57 vector mplhep mplhep_data uhi zennit==0.5.1 captum
# then: bash benchmarks/device_checks.sh [OUT_DIR]
set -u
out=${1:-${OUT:-bench-out/device}}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export PYTHIA8DATA=/tmp/site/share/Pythia8/xmldoc  # a --target install: Pythia's xmldoc is not beside the prefix
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, botorch, gpytorch, numpy; print('torch', torch.__version__, 'botorch',
botorch.__version__, 'gpytorch', gpytorch.__version__, 'numpy', numpy.__version__)"
t0=$(date +%s)
stamp() { echo "== $1 ($(( $(date +%s) - t0 )) s)"; }

stamp "jets: 5000 per class on 14 processes (background)"
python3 - >"$out/jets.log" 2>&1 <<'EOF' &
import explain as ex
ex.load_or_generate(5000, cache_dir="/tmp/jet-cache", seed=1, n_jobs=14)
EOF
jets=$!

stamp "1. CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/tuner/test_cuda.py 2>&1 | tail -15

stamp "2. ask+tell on the GPU"
timeout 150 python3 benchmarks/bo_synthetic.py --seeds 0 --methods tuner --scaling \
    --sizes 1000,2000,5000,10000 --device cuda --optuna-max 0 2>&1 | tail -9

stamp "waiting for the jets"
wait $jets; tail -c 600 "$out/jets.log" | tr '\r' '\n' | tail -3

stamp "3. DisCo at 5000 per class on the GPU"
timeout 230 python3 benchmarks/explain_decorrelation.py --per-class 5000 --cache /tmp/jet-cache \
    --device cuda --jobs 14 --out "$out" 2>&1 | grep -v "jets:\|^#" | tail -30

stamp "4. LRP throughput on the GPU"
timeout 60 python3 benchmarks/lrp_throughput.py --device cuda --batches 1024,4096 --images 16384 \
    --repeat 5 2>&1 | tail -14
stamp "done"
