#!/usr/bin/env bash
# Trains every shipped checkpoint, one after another. Each command resumes
# where an earlier, interrupted run stopped, so running this again continues.
#   nohup bash checkpoints/train_all.sh > logs/train_all.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}

run() { "$python" -m rwa.train --resume --verbose 2 "$@"; }

# The paper's RWA and LSTM runs (LSTMs at least as long as the matching RWA;
# the T = 100 LSTM gets 6000 steps, past the paper's 3500 to threshold).
run --task adding --model rwa --length 100 --steps 3000 --eval-every 50 --out checkpoints/rwa_adding_100
run --task length --model rwa --steps 2500 --out checkpoints/rwa_length
# At 1e-3 the length model's validation accuracy wanders between 96.5 % and
# 99.8 %; 500 more steps at 1e-4 settle it.
run --task length --model rwa --steps 3000 --learning-rate 1e-4 --out checkpoints/rwa_length
run --task adding --model lstm --length 100 --steps 6000 --eval-every 50 --out checkpoints/lstm_adding_100
run --task adding --model rwa --length 1000 --steps 2000 --out checkpoints/rwa_adding_1000
run --task length --model lstm --steps 3000 --out checkpoints/lstm_length
run --task adding --model lstm --length 1000 --steps 2000 --out checkpoints/lstm_adding_1000

# Stacked RWA and LSTM with attention, with the RWA runs' budgets.
run --task adding --model stacked-rwa --length 100 --steps 3000 --eval-every 50 --out checkpoints/stacked_rwa_adding_100
run --task adding --model lstm-attention --length 100 --steps 3000 --eval-every 50 --out checkpoints/lstm_attention_adding_100
run --task adding --model stacked-rwa --length 1000 --steps 2000 --out checkpoints/stacked_rwa_adding_1000
run --task adding --model lstm-attention --length 1000 --steps 2000 --out checkpoints/lstm_attention_adding_1000
