#!/usr/bin/env bash
# GPU checks and benchmarks in one run on a lent GPU machine: the CUDA tests, the scoring
# benchmark on the device, and the accuracy benchmark with and without domain adaptation.
#
#   bash benchmarks/device_check.sh ASSETS [quick]
#
# ASSETS is a folder that travels with the call (the GPU machine has torch and transformers
# but none of this project's other packages, no internet and no ../shared):
#   ASSETS/wheels/*.whl  packages the image lacks (sqlalchemy, alembic, mako, pydantic, ...)
#   ASSETS/base/         the packaged MiniLM folder with model_fp16.safetensors in place of
#                        model.safetensors (the 90 MB fp32 file exceeds the transfer limit);
#                        widened back to fp32 here, so accuracy figures carry fp16 rounding
#                        of the base weights (relative error <= 2^-11)
#   ASSETS/data/         the ../shared/data files the benchmarks read (never committed)
# benchmarks/device_assets.sh builds ASSETS. Logs go to $OUT (the device tool's output
# folder; /tmp/device-out elsewhere).
set -uo pipefail
ASSETS=$(cd "${1:?usage: device_check.sh ASSETS [quick]}" && pwd) || exit 1
QUICK=${2:-}
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if compgen -G "$ASSETS/wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
    "$ASSETS"/wheels/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
BASE=/tmp/finsentinel-base
python3 - "$ASSETS/base" "$BASE" <<'EOF' || exit 1
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors"))
state = load_file(src / "model_fp16.safetensors")
save_file({k: v.float() if v.is_floating_point() else v for k, v in state.items()},
          dst / "model.safetensors")
print(f"base: {len(state)} tensors widened to fp32 in {dst}")
EOF
[ -e ../shared/data ] || { mkdir -p ../shared && ln -s "$ASSETS/data" ../shared/data; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', \
transformers.__version__, 'cuda', torch.cuda.is_available())"

# step NAME SECONDS CMD...: run with a time limit, full log to $OUT/NAME.log, the gist here.
step() {
  local name=$1 limit=$2 started=$SECONDS
  shift 2
  echo "=== $name: $*"
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  tr '\r' '\n' <"$OUT/$name.log" | grep -a -E "$GIST" | tail -n 40
  echo "--- $name: exit $rc in $((SECONDS - started)) s"
}

GIST='passed|failed|skipped|Error|error:|^(FAILED|ERROR)|^E  '
step gpu_tests 240 python3 -m pytest -q -p no:cacheprovider -m gpu \
  tests/scoring/test_cuda.py tests/training/test_training_cuda.py

GIST='^adapt(ed| epoch [0-9]+:)|^=== |^run |^mean|^validation|^accuracy|^FPB|Error'
ACC=(python3 benchmarks/accuracy.py --no-baseline)
[ -n "$QUICK" ] && ACC+=(--quick)
step adapt 150 "${ACC[@]}" --datasets none --base-model "$BASE" --adapt-epochs 10 \
  --adapt-lr 1e-4 --adapt-out /tmp/adapted
# FPB with the CPU recipe's batch of 32, so the figures compare with the README's.
for base in "$BASE" /tmp/adapted; do
  step "fpb-soup-$(basename "$base")" 200 "${ACC[@]}" --datasets fpb --soup 3 --batch-size 32 \
    --base-model "$base"
done

GIST='^device|^models|/s|^ours|^naive|^both|vs |peak|Error'
N=4000; [ -n "$QUICK" ] && N=400
step scoring 120 python3 benchmarks/scoring.py --base-model "$BASE" --n "$N" --naive-n 300 \
  --rounds 3 --batch-size 128 --no-peak

GIST='^=== |^accuracy|^Twitter|Error'
for base in "$BASE" /tmp/adapted; do
  step "tweets-$(basename "$base")" 200 "${ACC[@]}" --datasets twitter,topic --base-model "$base"
done
