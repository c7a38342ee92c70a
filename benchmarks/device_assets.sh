#!/usr/bin/env bash
# Build the ASSETS folder that benchmarks/device_check.sh takes to a GPU machine: wheels of the
# packages its image lacks (Python 3.12, x86-64), the packaged base in fp16, and the shared data
# files the benchmarks read. Run from the project root, with the project's .venv installed:
#
#   bash benchmarks/device_assets.sh /path/outside/the/repo/assets
#
# Keep ASSETS outside the repository (it holds ../shared data, which is never committed) and
# point an ignored symlink at it for the device tool's carry.
set -euo pipefail
ASSETS=${1:?usage: device_assets.sh ASSETS}
PY=.venv/bin/python
DATA=../shared/data
mkdir -p "$ASSETS/wheels" "$ASSETS/base"

# The versions installed here, as wheels for the GPU machine's Python 3.12.
pins=$($PY -m pip list --format=freeze 2>/dev/null | grep -i -E \
  '^(alembic|annotated-types|mako|pydantic|pydantic.core|sqlalchemy|typing.inspection)==')
# shellcheck disable=SC2086
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$ASSETS/wheels" $pins

# The fp32 weights (90 MB) exceed the transfer limit; fp16 halves them (device_check.sh
# widens them back, relative error <= 2^-11).
$PY - "$ASSETS/base" <<'EOF'
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
from monitor.scoring.base_model import packaged_model_dir, verify_packaged
src, dst = packaged_model_dir(), Path(sys.argv[1])
verify_packaged(src)
shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors"))
state = load_file(src / "model.safetensors")
save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
          dst / "model_fp16.safetensors")
EOF

for f in fpb/fpb_50agree_dev.tsv fpb/fpb_66agree_dev.tsv fpb/fpb_75agree_dev.tsv \
    fpb/fpb_allagree_dev.tsv twitter-financial-news-sentiment/sent_train.csv \
    twitter-financial-news-topic/topic_train.csv twitter-financial-news-topic/topic_labels.json; do
  mkdir -p "$ASSETS/data/$(dirname "$f")"
  cp "$DATA/$f" "$ASSETS/data/$f"
done
du -sh "$ASSETS"
