"""Timing machinery shared by the benchmark scripts (``bench_core.py``, ``bench_frameworks.py``).

* :func:`timed`: seconds per call of a zero-argument callable over a loop, garbage collection off.
* :func:`interleaved`: paired samples of several implementations of one metric. Every repeat
  times each implementation back to back, alternating the order, after one discarded warm-up
  round that also sizes the loops (µs-scale metrics) and the number of repeats (a time budget).
* :func:`paired_ratio`: the median over repeats of ``sample / reference sample``.
* :func:`fresh`: a new function object around ``fn``, so that JAX's per-function trace caches
  miss and every sample of a tracing metric really traces.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Budget:
    """How many repeats a metric gets: as many as fit in ``seconds``, clamped to [lo, hi].

    Metrics that take microseconds per call are timed as a loop of calls per sample, sized so a
    sample lasts about ``loop_seconds``; the per-call time is the loop time divided by its length.
    """

    seconds: float
    lo: int
    hi: int
    loop_seconds: float


def timed(fn: Callable[[], Any], loops: int = 1) -> float:
    """Seconds per call of ``fn`` over ``loops`` back-to-back calls, GC disabled."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / loops


def interleaved(
    calls: Sequence[Callable[[], Any]], budget: Budget, looped: bool
) -> tuple[int, list[list[float]]]:
    """``(loops per sample, samples per call)``: paired, interleaved samples of ``calls``.

    One warm-up round is discarded; it also sizes the loop (when ``looped``) and the number of
    repeats. Repeat ``r`` runs the calls in order when ``r`` is even, reversed when odd.
    """
    warm = [timed(call) for call in calls]
    loops = 1
    if looped:
        loops = max(1, min(100_000, round(budget.loop_seconds / max(min(warm), 1e-7))))
    per_round = loops * sum(warm) + 1e-6
    repeats = max(budget.lo, min(budget.hi, int(budget.seconds / per_round)))
    samples: list[list[float]] = [[] for _ in calls]
    order = list(range(len(calls)))
    for r in range(repeats):
        for i in order if r % 2 == 0 else order[::-1]:
            samples[i].append(timed(calls[i], loops))
    return loops, samples


def paired_ratio(samples: Sequence[float], reference: Sequence[float]) -> float:
    """Median over repeats of ``samples[r] / reference[r]`` (the samples are paired by repeat)."""
    return statistics.median(s / p for s, p in zip(samples, reference, strict=True))


def fresh(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A new function object calling ``fn``, so JAX's per-function trace caches miss."""
    return lambda *args: fn(*args)


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def scopejax_revision() -> str:
    """The git commit of the scopejax checkout being measured (``+dirty`` if its source changed)."""
    import scopejax

    root = os.path.dirname(os.path.dirname(os.path.abspath(scopejax.__file__)))
    try:
        git = lambda *a: subprocess.run(
            ["git", "-C", root, *a], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = git("status", "--porcelain", "--", "scopejax")
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment(**extra: Any) -> dict[str, Any]:
    """Date, scopejax revision, Python/JAX/optax versions and the machine, plus ``extra``."""
    import jax
    import optax

    import scopejax

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "scopejax_revision": scopejax_revision(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "optax": optax.__version__,
        "scopejax": scopejax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        **extra,
    }
