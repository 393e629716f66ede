#!/usr/bin/env bash
# Runs the main job: a small TF1-style model that inits, trains a few steps and prints its variables.
EXTRAS="examples"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec .venv/bin/python examples/tf1_style_mlp.py "$@"
