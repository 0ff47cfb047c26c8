#!/usr/bin/env bash
# Quick start: EMT aluminium MD -> training pairs -> FlashMD model -> long-stride MD.
# Runs on CPU in a few minutes; every file goes to ./work.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/work" && cd "$here/work"
# omegaconf's deprecation of the resolvers metatrain registers says nothing about
# this run and cannot be acted on: hide it (the FlashMD plugin hides torch's
# torch.jit deprecations in mtt train and mtt export); other warnings are shown
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:register_new_resolver() is deprecated:UserWarning:metatrain.utils.omegaconf"

echo "== 1. reference MD (EMT, 1 fs steps)"
python "$here/generate.py" --frames 3000

echo "== 2. training pairs 16 fs apart"
mtt-flashmd pairs al-md.extxyz --lag 16 --spacing 2 -o pairs.xyz --options options.yaml

echo "== 3. train a small FlashMD model"
mtt train options.yaml -o model.pt \
    -r architecture.model.d_pet=32 -r architecture.model.d_head=32 \
    -r architecture.model.d_node=64 -r architecture.model.d_feedforward=64 \
    -r architecture.model.num_heads=4 -r architecture.model.num_gnn_layers=2 \
    -r architecture.training.num_epochs=6 -r architecture.training.batch_size=16 \
    -r architecture.training.learning_rate=1e-3 -r architecture.training.log_interval=1

echo "== 4. export it for MD engines"
mtt export model.ckpt -o flashmd-al.pt

echo "== 5. FlashMD simulation: 16 fs per step, Langevin thermostat at 300 K"
mtt-flashmd md flashmd-al.pt al-start.extxyz --steps 500 --temperature 300 \
    --thermostat langevin --time-constant 100 --seed 1 \
    -o flashmd-md.extxyz --log flashmd-md.csv
