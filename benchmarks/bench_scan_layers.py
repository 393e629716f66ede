"""Trace + compile time of a deep layer stack: scopejax.scan_layers versus the Python loop.

Run: .venv/bin/python benchmarks/bench_scan_layers.py [--layers 16,64,256] [--width 64]

Both models hold the same values: the loop as ``layer_{i}/dense/w`` per layer, scan_layers as
``layer_*/dense/w`` stacked on axis 0 (``params.unstack_layers()`` converts). The loop traces
every layer; scan_layers traces one and runs ``jax.lax.scan`` over the stacked variables.
Reports, per depth, the median over repeats of: jit(apply) trace+lower+compile, jit(train step)
trace+lower+compile, and the steady-state jitted train step, plus ratios scan/loop.
Interleaved (loop and scan alternate within each repeat).
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import scopejax as sj


def layer(h):
    with sj.variable_scope("dense"):
        w = sj.get_variable("w", [h.shape[-1], h.shape[-1]])
        b = sj.get_variable("b", [h.shape[-1]], initializer=sj.zeros_initializer())
    return jnp.tanh(h @ w + b[None, :])


def make(depth: int, stacked: bool):
    def model(x):
        if stacked:
            return sj.scan_layers(layer, x, depth)
        for i in range(depth):
            with sj.variable_scope(f"layer_{i}"):
                x = layer(x)
        return x

    return sj.transform(model)


def measure(depth: int, width: int, stacked: bool, params, x) -> dict[str, float]:
    model = make(depth, stacked)  # a new function each time: no trace cache hits
    if not stacked:
        params = params.unstack_layers()  # the same values under the loop's per-layer names
    opt = optax.sgd(1e-3)

    def step(p, s):
        loss, g = jax.value_and_grad(lambda p: (model.apply(p, x) ** 2).mean())(p)
        u, s = opt.update(g, s)
        return optax.apply_updates(p, u), s, loss

    t0 = time.perf_counter()
    jax.jit(model.apply).lower(params, x).compile()
    t1 = time.perf_counter()
    compiled = jax.jit(step).lower(params, opt.init(params)).compile()
    t2 = time.perf_counter()
    state = opt.init(params)
    p = params
    for _ in range(3):
        p, state, loss = compiled(p, state)
    jax.block_until_ready(loss)
    n = 20
    t3 = time.perf_counter()
    for _ in range(n):
        p, state, loss = compiled(p, state)
    jax.block_until_ready(loss)
    t4 = time.perf_counter()
    return {"apply_compile_s": t1 - t0, "step_compile_s": t2 - t1, "step_ms": (t4 - t3) / n * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", default="16,64,256")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, width {args.width}, batch 32, {args.repeats} repeats, medians")
    print("| layers | metric | Python loop | scan_layers | ratio |\n|---:|---|---:|---:|---:|")
    for depth in map(int, args.layers.split(",")):
        x = jnp.ones((32, args.width))
        params = make(depth, True).init(jax.random.key(0), x)
        runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for r in range(args.repeats):
            for stacked in ((False, True) if r % 2 == 0 else (True, False)):
                runs[stacked].append(measure(depth, args.width, stacked, params, x))
        for metric in ("apply_compile_s", "step_compile_s", "step_ms"):
            loop = statistics.median(m[metric] for m in runs[False])
            scan = statistics.median(m[metric] for m in runs[True])
            print(f"| {depth} | {metric} | {loop:.3g} | {scan:.3g} | {scan / loop:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
