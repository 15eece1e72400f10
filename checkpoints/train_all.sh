#!/usr/bin/env bash
# Trains every shipped checkpoint, one after another. Each command resumes
# where an earlier, interrupted run stopped, so running this again continues.
#   nohup bash checkpoints/train_all.sh > logs/train_all.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}

run() { "$python" -m rwa.train --resume --verbose 2 "$@"; }

run --task adding --model rwa --length 100 --steps 3000 --eval-every 50 --out checkpoints/rwa_adding_100
run --task length --model rwa --steps 2500 --out checkpoints/rwa_length
run --task adding --model rwa --length 1000 --steps 2000 --out checkpoints/rwa_adding_1000
run --task adding --model lstm --length 100 --steps 3000 --eval-every 50 --out checkpoints/lstm_adding_100
run --task length --model lstm --steps 2500 --out checkpoints/lstm_length
run --task adding --model lstm --length 1000 --steps 2000 --out checkpoints/lstm_adding_1000
