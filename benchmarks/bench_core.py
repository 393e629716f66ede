"""Core overhead benchmark: scopejax versus a hand-written pure-JAX MLP.

Both frameworks build the same model: ``L`` layers of width ``W``, ``x = tanh(x @ w + b)``, with
glorot-uniform weights and zero biases. The pure-JAX model keeps its parameters in a flat dict
``{"layer{i}/w": ..., "layer{i}/b": ...}`` initialised from ``jax.random.split``; the scopejax
model calls ``get_variable`` inside ``variable_scope(f"layer{i}")`` and is run through
``scopejax.transform``.

Metrics (seconds per call; every sample is timed with ``time.perf_counter``):

* ``init_eager``: ``init(key, x)`` run eagerly, then ``block_until_ready`` on every leaf.
* ``init_eval_shape``: ``jax.eval_shape(init, key, x)``.
* ``init_jit_lower``: ``jax.jit(init).lower(key, x)`` (trace + lower to StableHLO).
* ``apply_make_jaxpr``: ``jax.make_jaxpr(apply)(params, x)``.
* ``apply_jit_b1``: steady-state call of a jitted, warmed-up ``apply`` at batch 1 (dispatch,
  pytree flattening, a tiny computation), blocking on each result.
* ``tree_flatten`` / ``tree_unflatten``: of the parameter container (dict vs ``ParamStore``).
* ``train_step_jit``: steady-state call of a jitted SGD step (loss = mean squared output,
  ``jax.grad``, ``optax.sgd`` update) at batch ``TRAIN_BATCH``, blocking on each result.

For the trace/lower metrics each sample wraps the function in a new Python function: JAX caches
traces by function identity (a new ``jax.jit`` object around the same function hits the cache),
so without the wrapper only the first sample would measure tracing.

The machine this runs on is expected to be noisy, so the two frameworks run interleaved: every
repeat times pure JAX and scopejax back to back (alternating which goes first), and the reported
ratio is the median of the per-repeat ratios scopejax / pure JAX. Garbage collection is disabled
while a sample is timed. Every metric starts with one discarded warm-up round.

Usage::

    python benchmarks/bench_core.py                   # all configurations (a few minutes)
    python benchmarks/bench_core.py --quick           # smoke run (< 60 s)
    python benchmarks/bench_core.py --configs 8x16,8x512 --json results.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import scopejax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (
    Budget,
    environment,
    fmt_time,
    fresh,
    interleaved,
    paired_ratio,
)

ALL_CONFIGS: tuple[tuple[int, int], ...] = ((8, 16), (64, 16), (512, 16), (8, 512))
QUICK_CONFIGS: tuple[tuple[int, int], ...] = ((8, 16), (64, 16))
METRICS: tuple[str, ...] = (
    "init_eager",
    "init_eval_shape",
    "init_jit_lower",
    "apply_make_jaxpr",
    "apply_jit_b1",
    "tree_flatten",
    "tree_unflatten",
    "train_step_jit",
)
TRAIN_BATCH = 32
LEARNING_RATE = 1e-3


FULL_BUDGET = Budget(seconds=8.0, lo=5, hi=31, loop_seconds=0.02)
QUICK_BUDGET = Budget(seconds=0.3, lo=3, hi=5, loop_seconds=0.005)


# ----------------------------------------------------------------------------------- the models


@dataclasses.dataclass
class Framework:
    """One implementation of the MLP plus the state prepared for the steady-state metrics."""

    name: str
    init: Callable[..., Any]
    apply: Callable[..., Any]
    params: Any = None
    jit_apply: Callable[..., Any] | None = None
    train_step: Callable[..., Any] | None = None
    opt_state: Any = None
    leaves: list[Any] | None = None
    treedef: Any = None


def glorot_limit(fan_in: int, fan_out: int) -> float:
    return math.sqrt(6.0 / (fan_in + fan_out))


def make_pure(num_layers: int, width: int) -> Framework:
    """The hand-written pure-JAX MLP over a flat ``{"layer{i}/w", "layer{i}/b"}`` dict."""

    def init(key: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
        keys = jax.random.split(key, num_layers)
        params = {}
        d_in = x.shape[-1]
        for i in range(num_layers):
            limit = glorot_limit(d_in, width)
            params[f"layer{i}/w"] = jax.random.uniform(
                keys[i], (d_in, width), jnp.float32, -limit, limit
            )
            params[f"layer{i}/b"] = jnp.zeros((width,), jnp.float32)
            d_in = width
        return params

    def apply(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        for i in range(num_layers):
            x = jnp.tanh(x @ params[f"layer{i}/w"] + params[f"layer{i}/b"])
        return x

    return Framework("pure JAX", init, apply)


def make_scopejax(num_layers: int, width: int) -> Framework:
    """The same MLP written TF1-style and run through ``scopejax.transform``."""

    def mlp(x: jax.Array) -> jax.Array:
        for i in range(num_layers):
            with scopejax.variable_scope(f"layer{i}"):
                w = scopejax.get_variable("w", [x.shape[-1], width])
                b = scopejax.get_variable("b", [width], initializer=scopejax.zeros_initializer())
            x = jnp.tanh(x @ w + b)
        return x

    model = scopejax.transform(mlp)
    return Framework("scopejax", model.init, model.apply)


def make_train_step(apply: Callable[..., Any], optimizer: Any) -> Callable[..., Any]:
    def loss(params: Any, x: jax.Array) -> jax.Array:
        return jnp.mean(apply(params, x) ** 2)

    @jax.jit
    def step(params: Any, opt_state: Any, x: jax.Array) -> tuple[Any, Any, jax.Array]:
        value, grads = jax.value_and_grad(loss)(params, x)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


# ------------------------------------------------------------------------------------- checks


def check_equivalent(pure: Framework, sj: Framework, x: jax.Array) -> None:
    """Both models have the same variables, initialisers' ranges and forward computation."""
    p_params, s_params = pure.params, sj.params
    if set(p_params) != set(s_params.names()):
        raise AssertionError(f"variable names differ: {sorted(p_params)} vs {s_params.names()}")
    for name, value in p_params.items():
        other = s_params[name]
        if value.shape != other.shape or value.dtype != other.dtype:
            raise AssertionError(
                f"{name}: {value.shape}/{value.dtype} vs {other.shape}/{other.dtype}"
            )
        if name.endswith("/w"):
            limit = glorot_limit(*value.shape)
            if float(jnp.max(jnp.abs(other))) > limit * (1 + 1e-6):
                raise AssertionError(f"{name}: scopejax init exceeds the glorot limit {limit}")
        elif float(jnp.max(jnp.abs(other))) != 0.0:
            raise AssertionError(f"{name}: scopejax bias is not zero")
    as_store = scopejax.ParamStore.from_flat_dict(p_params)
    np.testing.assert_allclose(
        np.asarray(sj.apply(as_store, x)), np.asarray(pure.apply(p_params, x)), rtol=1e-5, atol=1e-6
    )


# --------------------------------------------------------------------------------- measurement


def _block(tree: Any) -> None:
    jax.block_until_ready(tree)


def sample_fns(
    metric: str, fw: Framework, key: jax.Array, x: jax.Array, x_train: jax.Array
) -> Callable[[], Any]:
    """A zero-argument callable performing one call of ``metric`` for ``fw`` (blocking)."""
    if metric == "init_eager":
        return lambda: _block(fw.init(key, x))
    if metric == "init_eval_shape":
        return lambda: jax.eval_shape(fresh(fw.init), key, x)
    if metric == "init_jit_lower":
        return lambda: jax.jit(fresh(fw.init)).lower(key, x)
    if metric == "apply_make_jaxpr":
        return lambda: jax.make_jaxpr(fresh(fw.apply))(fw.params, x)
    if metric == "apply_jit_b1":
        jit_apply, params = fw.jit_apply, fw.params
        return lambda: jit_apply(params, x).block_until_ready()
    if metric == "tree_flatten":
        params, flatten = fw.params, jax.tree_util.tree_flatten
        return lambda: flatten(params)
    if metric == "tree_unflatten":
        treedef, leaves, unflatten = fw.treedef, fw.leaves, jax.tree_util.tree_unflatten
        return lambda: unflatten(treedef, leaves)
    if metric == "train_step_jit":
        step, params, opt_state = fw.train_step, fw.params, fw.opt_state
        return lambda: _block(step(params, opt_state, x_train))
    raise ValueError(f"unknown metric {metric!r}")


LOOPED = {"apply_jit_b1", "tree_flatten", "tree_unflatten", "train_step_jit"}


@dataclasses.dataclass
class Result:
    metric: str
    layers: int
    width: int
    repeats: int
    loops: int
    pure_samples: list[float]
    scopejax_samples: list[float]

    @property
    def pure_median(self) -> float:
        return statistics.median(self.pure_samples)

    @property
    def scopejax_median(self) -> float:
        return statistics.median(self.scopejax_samples)

    @property
    def ratio(self) -> float:
        """Median over repeats of scopejax / pure JAX (the samples are paired by repeat)."""
        return paired_ratio(self.scopejax_samples, self.pure_samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "layers": self.layers,
            "width": self.width,
            "repeats": self.repeats,
            "loops_per_sample": self.loops,
            "pure_jax_median_s": self.pure_median,
            "scopejax_median_s": self.scopejax_median,
            "ratio_scopejax_over_pure": self.ratio,
            "pure_jax_samples_s": self.pure_samples,
            "scopejax_samples_s": self.scopejax_samples,
        }


def measure(
    metric: str,
    frameworks: Sequence[Framework],
    layers: int,
    width: int,
    key: jax.Array,
    x: jax.Array,
    x_train: jax.Array,
    budget: Budget,
) -> Result:
    """Interleaved, paired samples of ``metric`` for (pure JAX, scopejax)."""
    calls = [sample_fns(metric, fw, key, x, x_train) for fw in frameworks]
    loops, samples = interleaved(calls, budget, looped=metric in LOOPED)
    repeats = len(samples[0])
    return Result(metric, layers, width, repeats, loops, samples[0], samples[1])


def prepare(fw: Framework, key: jax.Array, x: jax.Array, x_train: jax.Array) -> None:
    """Params, the jitted apply and train step (compiled and warm), the flattened params."""
    fw.params = jax.block_until_ready(fw.init(key, x))
    fw.jit_apply = jax.jit(fw.apply)
    fw.jit_apply(fw.params, x).block_until_ready()
    optimizer = optax.sgd(LEARNING_RATE)
    fw.opt_state = optimizer.init(fw.params)
    fw.train_step = make_train_step(fw.apply, optimizer)
    _block(fw.train_step(fw.params, fw.opt_state, x_train))
    fw.leaves, fw.treedef = jax.tree_util.tree_flatten(fw.params)


def run_config(
    layers: int, width: int, metrics: Sequence[str], budget: Budget, log: Callable[[str], None]
) -> list[Result]:
    key = jax.random.key(0)
    x = jnp.ones((1, width), jnp.float32)
    x_train = jax.random.normal(jax.random.key(1), (TRAIN_BATCH, width), jnp.float32)
    frameworks = [make_pure(layers, width), make_scopejax(layers, width)]
    start = time.perf_counter()
    for fw in frameworks:
        prepare(fw, key, x, x_train)
    check_equivalent(frameworks[0], frameworks[1], x)
    log(
        f"[L={layers} W={width}] prepared (params, jit compile) in "
        f"{time.perf_counter() - start:.1f}s"
    )
    results = []
    for metric in metrics:
        start = time.perf_counter()
        result = measure(metric, frameworks, layers, width, key, x, x_train, budget)
        pure_t, sj_t = fmt_time(result.pure_median), fmt_time(result.scopejax_median)
        log(
            f"[L={layers} W={width}] {metric:<16} n={result.repeats:<3} pure={pure_t:>9} "
            f"scopejax={sj_t:>9} ratio={result.ratio:5.2f}  "
            f"({time.perf_counter() - start:.1f}s)"
        )
        results.append(result)
    return results


# ------------------------------------------------------------------------------------ reporting


def markdown_table(results: Sequence[Result]) -> str:
    lines = [
        "| metric | L | W | n | pure JAX median | scopejax median | ratio (scopejax/pure) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.metric} | {r.layers} | {r.width} | {r.repeats} | {fmt_time(r.pure_median)} "
            f"| {fmt_time(r.scopejax_median)} | {r.ratio:.2f} |"
        )
    return "\n".join(lines)


def parse_configs(text: str) -> list[tuple[int, int]]:
    configs = []
    for part in text.split(","):
        layers, _, width = part.strip().lower().partition("x")
        configs.append((int(layers), int(width)))
    return configs


def run(
    configs: Sequence[tuple[int, int]],
    metrics: Sequence[str],
    budget: Budget,
    log: Callable[[str], None],
) -> list[Result]:
    results: list[Result] = []
    start = time.perf_counter()
    for layers, width in configs:
        results.extend(run_config(layers, width, metrics, budget, log))
    log(f"total {time.perf_counter() - start:.1f}s")
    return results


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def smoke(log: Callable[[str], None] = _stderr) -> list[Result]:
    """The ``--quick`` run: small configurations, every metric, few repeats (well under 60 s).

    Also checks that both models have the same variables and compute the same function.
    """
    return run(QUICK_CONFIGS, METRICS, QUICK_BUDGET, log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        type=parse_configs,
        default=None,
        help="comma-separated LxW list (default: 8x16,64x16,512x16,8x512)",
    )
    parser.add_argument(
        "--metrics",
        default=",".join(METRICS),
        help=f"comma-separated subset of: {','.join(METRICS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 8x16 and 64x16, few repeats"
    )
    parser.add_argument("--json", metavar="PATH", help="also write raw samples and medians here")
    args = parser.parse_args(argv)

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        parser.error(f"unknown metrics {unknown}; choose from {list(METRICS)}")
    env = environment(train_batch=TRAIN_BATCH)  # before the run: the date is the start time
    if args.quick and args.configs is None and len(metrics) == len(METRICS):
        results = smoke()
    else:
        configs = args.configs or (QUICK_CONFIGS if args.quick else ALL_CONFIGS)
        budget = QUICK_BUDGET if args.quick else FULL_BUDGET
        results = run(configs, metrics, budget, _stderr)

    print(
        f"scopejax {env['scopejax_revision']}, jax {env['jax']} on {env['backend']} "
        f"({env['cpu_count']} CPUs), started {env['date']}; "
        "median time per call; ratio = median of per-repeat scopejax/pure-JAX ratios.\n"
    )
    print(markdown_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"environment": env, "argv": sys.argv, "results": [r.to_json() for r in results]},
                f,
                indent=1,
            )
        _stderr(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
