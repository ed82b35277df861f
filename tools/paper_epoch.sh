#!/usr/bin/env bash
# Time one training epoch of every paper-preset model (T=32, 64x64 crops) on a
# 640x480 embedded dataset: the check that the paper preset trains on a GPU.
#
#   bash tools/paper_epoch.sh [WORK_DIR]
#
# Settings through the environment: SYNTH_PRESET (course), SIZE (640x480),
# EPOCHS (2: the first includes cuDNN's warm-up), KINDS, WORKERS (all cores),
# AUGMENT (1; 0 trains without augmentation, to see what the input pipeline costs),
# TORCHRUN (1; 0 skips the torchrun run).
# A dataset already in WORK_DIR is reused.
# Prints one JSON line per model from its metrics.json, and a torchrun run of the
# joint model (one process, nccl on a GPU) to check the distributed path.
set -euo pipefail
work=${1:-/tmp/paper-epoch}
preset=${SYNTH_PRESET:-course}
size=${SIZE:-640x480}
epochs=${EPOCHS:-2}
kinds=${KINDS:-cnn3d joint student_medium student_small lstm}
workers=${WORKERS:-$(nproc)}
augment=$([ "${AUGMENT:-1}" = 0 ] && echo --no-augment || true)
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
export GESTURELIB_DATA=$work  # clip cache under $work/clips, where train finds it

seconds() { local start=$1; echo $(( $(date +%s) - start )); }

if [ ! -f "$work/data/dataset.json" ]; then
    start=$(date +%s)
    $py -m gesturelib.synth --out "$work/data" --preset "$preset" --size "$size" --workers "$workers"
    echo "generation ($preset at $size, $workers processes): $(seconds "$start") s"
fi

start=$(date +%s)
$py -m gesturelib.clipcache --data "$work/data" --preset paper \
    --workers "$workers" --no-progress
echo "clip preparation (paper preset): $(seconds "$start") s"

loader_workers=$(( workers > 8 ? 8 : workers ))
for kind in $kinds; do
    $py -m gesturelib.train_cli --kind "$kind" --preset paper --data "$work/data" --out "$work/runs/$kind${augment:+-plain}" \
        --epochs "$epochs" --workers "$loader_workers" --quiet $augment
    $py - "$work/runs/$kind${augment:+-plain}" <<'EOF'
import json, os, sys
from pathlib import Path
run = Path(sys.argv[1])
metrics = json.loads((run / "metrics.json").read_text())
history = json.loads((run / "history.json").read_text())
print(json.dumps({"kind": metrics["kind"], "augmented": os.environ.get("AUGMENT", "1") != "0", "params": metrics["params"], "device": metrics["device"],
                  "seconds_per_epoch": [round(s, 2) for s in history["seconds"]],
                  "val_accuracy": round(metrics["validation"]["accuracy"], 4)}))
EOF
done

if [ "${TORCHRUN:-1}" = 1 ] && $py -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    start=$(date +%s)
    torchrun --standalone --nproc_per_node=1 -m gesturelib.train_cli --kind joint --preset paper \
        --data "$work/data" --out "$work/runs/joint-torchrun" --epochs 1 --workers "$loader_workers" --quiet
    echo "torchrun, 1 process (nccl): $(seconds "$start") s"
fi
