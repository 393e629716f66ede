#!/usr/bin/env bash
# Runs the whole test suite in .venv (created on first use), TensorFlow differential tests included.
EXTRAS="test,tf,dev,examples,ckpt,interop,ui"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
.venv/bin/ruff check scopejax tests benchmarks examples
exec .venv/bin/python -m pytest "$@"
