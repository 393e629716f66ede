#!/usr/bin/env bash
# Runs the main job: the TF1-style character LSTM language model (examples/char_lstm.py), sharded
# over 8 virtual CPU devices, with checkpoints in runs/char_lstm (a rerun resumes; --fresh restarts).
EXTRAS="examples,ckpt,ui"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec .venv/bin/python examples/char_lstm.py "$@"
