"""scopejax side by side with pure JAX, Haiku, Flax linen and Flax NNX on the same models.

Six implementations of each model (see ``_models.py``): pure JAX over a flat dict (the
reference, ``jax_dict``) and over a list (``jax_list``, the plain-pytree floor), scopejax,
Haiku (``hk.transform``), Flax linen and Flax NNX. Models: MLPs ``L x W`` and a transformer of
``N`` blocks (16 variables each; ``tfm:64`` has 1,024).

Metrics (seconds per call; the letters are those of the benchmarks issue):

* (a) ``init_eager``: ``init(key, x)`` run eagerly, blocking on every leaf (NNX: constructing
  the module and taking ``nnx.state``).
* (b) ``init_eval_shape``: ``jax.eval_shape(init, key, x)``; ``init_jit_lower``:
  ``jax.jit(init).lower(key, x)``; ``init_jit_first`` (opt-in, ``--metrics``): first call of
  a new ``jax.jit(init)`` (trace, lower, compile, run), dominated by XLA compile time.
* (c) ``apply_make_jaxpr``: ``jax.make_jaxpr(apply)(params, x)`` (NNX: ``nnx.merge`` then call).
* (d) ``apply_jit_b1``: a jitted, warmed-up apply at batch 1 (NNX: ``nnx.jit`` over the module).
* (e) ``tree_flatten`` / ``tree_unflatten`` of the parameter container (dict, list,
  ``ParamStore``, Haiku's nested dict, linen's ``{"params": ...}``, NNX's ``State``).
* (f) ``train_step_jit``: a jitted step, loss = mean squared output, ``jax.value_and_grad``,
  ``optax.sgd`` update (NNX: ``nnx.jit`` + ``nnx.value_and_grad`` + ``nnx.Optimizer``). Skipped
  by default for transformers over ``TFM_TRAIN_BLOCKS`` blocks (compile time); ``--metrics``
  forces it.

Every configuration runs in its own process. Within it, the six implementations run
interleaved (each repeat times all of them back to back, alternating the order), after one
discarded warm-up round; tracing metrics wrap the function anew for every sample so JAX's trace
caches miss. Reported: medians, the median of per-repeat ratios against ``jax_dict``, and
per-leaf slopes (least squares of the median over the number of variables, MLPs of one width).
Before timing, each configuration checks that every implementation has the same variables
(names mapped to canonical ones, shapes, dtypes, initial value ranges) and that each computes the
hand-written model's output from its own parameters.

Usage::

    python benchmarks/bench_frameworks.py                  # full run (under 10 minutes)
    python benchmarks/bench_frameworks.py --quick          # smoke run (seconds per config)
    python benchmarks/bench_frameworks.py --configs mlp:8x16,tfm:64 --json results.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FRAMEWORKS = ("jax_dict", "jax_list", "scopejax", "haiku", "linen", "nnx")
LABELS = {"jax_dict": "JAX dict", "jax_list": "JAX list", "scopejax": "scopejax",
          "haiku": "Haiku", "linen": "linen", "nnx": "NNX"}  # fmt: skip
PEERS = ("haiku", "linen", "nnx")
METRICS = ("init_eager", "init_eval_shape", "init_jit_lower", "init_jit_first",
           "apply_make_jaxpr", "apply_jit_b1", "tree_flatten", "tree_unflatten",
           "train_step_jit")  # fmt: skip
GROUP = {"init_eager": "a", "init_eval_shape": "b", "init_jit_lower": "b", "init_jit_first": "b",
         "apply_make_jaxpr": "c", "apply_jit_b1": "d", "tree_flatten": "e",
         "tree_unflatten": "e", "train_step_jit": "f"}  # fmt: skip
LOOPED = {"apply_jit_b1", "tree_flatten", "tree_unflatten", "train_step_jit"}
TRACED_INIT = {"init_eval_shape", "init_jit_lower", "init_jit_first"}
# Not run unless asked for (--metrics): XLA:CPU compiles one threefry kernel per random variable,
# about 0.15 s each here, so a first call of jit(init) costs seconds to minutes.
OPT_IN = ("init_jit_first",)
FULL_CONFIGS = ("mlp:8x16", "mlp:64x16", "mlp:512x16", "mlp:8x512", "tfm:64")
QUICK_CONFIGS = ("mlp:2x8", "mlp:6x8", "tfm:1")
# Compiling the transformer's train step takes XLA:CPU 1.5-2 s per block here (2 minutes per
# framework at 64 blocks), so by default it is measured only up to this many blocks.
TFM_TRAIN_BLOCKS = 8
# A framework whose first (warm-up) call of a metric takes longer than this is timed once, not
# interleaved: NNX's eval_shape(init) took 25 s per call at 1,024 variables (mlp 512x16).
SLOW_S = {"full": 2.0, "quick": 0.5}
# Tracing NNX's init grows quadratically; beyond this many variables it is not measured.
NNX_INIT_TRACE_LEAVES = 1000
TRAIN_BATCH = 32
LEARNING_RATE = 1e-3
TRACE_TARGET = 1.15  # (a), (b), (c): scopejax / JAX dict at most this
RUN_TARGET = 1.0  # (d), (e), (f): at or below JAX dict


def parse_config(text: str) -> Any:
    from _models import Spec

    kind, _, size = text.strip().lower().partition(":")
    if kind == "mlp":
        layers, _, width = size.partition("x")
        return Spec("mlp", int(layers), int(width))
    if kind == "tfm":
        return Spec("tfm", int(size))
    raise ValueError(f"unknown configuration {text!r}: use mlp:LxW or tfm:BLOCKS")


# ------------------------------------------------------------------------ worker: one config


@dataclasses.dataclass
class Impl:
    """One framework's model plus the state prepared for the steady-state metrics."""

    name: str
    init: Callable[..., Any]  # (key, x) -> parameter container; pure, traceable
    apply: Callable[..., Any] | None = None  # (container, x) -> output; pure, traceable
    params: Any = None
    apply_call: Callable[[], Any] | None = None  # one blocking steady-state jitted apply
    train_call: Callable[[], Any] | None = None  # one blocking steady-state train step
    leaves: list[Any] | None = None
    treedef: Any = None


def build(name: str, spec: Any) -> Impl:
    import _models as m
    from flax import nnx

    if name == "nnx":
        make = m.nnx_model(spec)
        return Impl(name, lambda key, x: nnx.state(make(key)))
    init, apply = {"jax_dict": m.jax_dict, "jax_list": m.jax_list, "scopejax": m.scopejax_model,
                   "haiku": m.haiku_model, "linen": m.linen_model}[name](spec)  # fmt: skip
    return Impl(name, init, apply)


def make_train_step(apply: Callable[..., Any], optimizer: Any) -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp
    import optax

    def loss(params: Any, x: Any) -> Any:
        return jnp.mean(apply(params, x) ** 2)

    @jax.jit
    def step(params: Any, opt_state: Any, x: Any) -> Any:
        value, grads = jax.value_and_grad(loss)(params, x)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def prepare(impl: Impl, spec: Any, key: Any, x: Any, x_train: Any, train: bool) -> None:
    """Params, the jitted apply and train step, the flattened params."""
    import jax
    import jax.numpy as jnp
    import optax

    optimizer = optax.sgd(LEARNING_RATE)
    if impl.name == "nnx":
        import _models as m
        from flax import nnx

        model = m.nnx_model(spec)(key)
        graphdef, impl.params = nnx.split(model)
        impl.apply = lambda state, x: nnx.merge(graphdef, state)(x)
        forward = nnx.jit(lambda module, x: module(x))
        impl.apply_call = lambda: forward(model, x).block_until_ready()
        opt = nnx.Optimizer(model, optimizer, wrt=nnx.Param)

        @nnx.jit
        def step(module: Any, opt: Any, x: Any) -> Any:
            value, grads = nnx.value_and_grad(lambda mod: jnp.mean(mod(x) ** 2))(module)
            opt.update(module, grads)
            return value

        if train:
            impl.train_call = lambda: jax.block_until_ready(step(model, opt, x_train))
    else:
        params = impl.params = jax.block_until_ready(impl.init(key, x))
        jit_apply = jax.jit(impl.apply)
        impl.apply_call = lambda: jit_apply(params, x).block_until_ready()
        if train:
            step, opt_state = make_train_step(impl.apply, optimizer), optimizer.init(params)
            impl.train_call = lambda: jax.block_until_ready(step(params, opt_state, x_train))
    impl.leaves, impl.treedef = jax.tree_util.tree_flatten(impl.params)


def warm_up(impl: Impl) -> None:
    """Compiles the steady-state calls (after the checks: NNX's train step updates in place)."""
    impl.apply_call()  # type: ignore[misc]
    if impl.train_call is not None:
        impl.train_call()


def check_equivalent(impls: Sequence[Impl], spec: Any, x: Any) -> None:
    """Same canonical variables (shape, dtype, initial ranges) and the same function everywhere."""
    import math

    import _models as m
    import numpy as np

    shapes = spec.shapes()
    _, reference_apply = m.jax_dict(spec)
    for impl in impls:
        flat = m.canonical(impl.name, spec, impl.params)
        if set(flat) != set(shapes):
            missing, extra = sorted(set(shapes) - set(flat)), sorted(set(flat) - set(shapes))
            raise AssertionError(f"{impl.name}: variables differ: missing {missing[:5]}, "
                                 f"extra {extra[:5]}")  # fmt: skip
        for name, value in flat.items():
            if tuple(value.shape) != shapes[name] or value.dtype != np.float32:
                raise AssertionError(f"{impl.name}: {name} is {value.dtype}{value.shape}, "
                                     f"expected float32{shapes[name]}")  # fmt: skip
            v = np.asarray(value)
            if name.endswith("/w"):
                limit = math.sqrt(6.0 / sum(shapes[name]))
                ok = np.abs(v).max() <= limit * (1 + 1e-6) and np.abs(v).max() > 0
            else:
                ok = np.all(v == (1.0 if name.endswith("/scale") else 0.0))
            if not ok:
                raise AssertionError(f"{impl.name}: initial values of {name} out of range")
        np.testing.assert_allclose(
            np.asarray(impl.apply(impl.params, x)), np.asarray(reference_apply(flat, x)),
            rtol=2e-4, atol=2e-5, err_msg=f"{impl.name} computes another function",
        )  # fmt: skip


def sample_fn(metric: str, impl: Impl, key: Any, x: Any) -> Callable[[], Any]:
    """A zero-argument callable performing one call of ``metric`` for ``impl`` (blocking)."""
    import jax
    from _timing import fresh

    init, apply = impl.init, impl.apply
    if metric == "init_eager":
        return lambda: jax.block_until_ready(init(key, x))
    if metric == "init_eval_shape":
        return lambda: jax.eval_shape(fresh(init), key, x)
    if metric == "init_jit_lower":
        return lambda: jax.jit(fresh(init)).lower(key, x)
    if metric == "init_jit_first":
        return lambda: jax.block_until_ready(jax.jit(fresh(init))(key, x))
    if metric == "apply_make_jaxpr":
        params = impl.params
        return lambda: jax.make_jaxpr(fresh(apply))(params, x)
    if metric == "apply_jit_b1":
        return impl.apply_call  # type: ignore[return-value]
    if metric == "tree_flatten":
        params, flatten = impl.params, jax.tree_util.tree_flatten
        return lambda: flatten(params)
    if metric == "tree_unflatten":
        treedef, leaves, unflatten = impl.treedef, impl.leaves, jax.tree_util.tree_unflatten
        return lambda: unflatten(treedef, leaves)
    if metric == "train_step_jit":
        return impl.train_call  # type: ignore[return-value]
    raise ValueError(f"unknown metric {metric!r}")


def worker(config: str, frameworks: Sequence[str], metrics: Sequence[str], quick: bool,
           explicit: bool) -> dict:  # fmt: skip
    import jax
    from _timing import Budget, fmt_time, interleaved, timed

    spec = parse_config(config)
    if quick:
        budget = Budget(seconds=0.2, lo=2, hi=3, loop_seconds=0.002)
    else:
        budget = Budget(seconds=4.0, lo=3, hi=21, loop_seconds=0.01)
    if spec.kind == "tfm" and spec.layers > TFM_TRAIN_BLOCKS and not explicit:
        metrics = [m for m in metrics if m != "train_step_jit"]
    key = jax.random.key(0)
    x, x_train = spec.input(1), spec.input(TRAIN_BATCH if spec.kind == "mlp" else 4)
    start = time.perf_counter()
    impls = [build(name, spec) for name in frameworks]
    for impl in impls:
        prepare(impl, spec, key, x, x_train, train="train_step_jit" in metrics)
    check_equivalent(impls, spec, x)
    for impl in impls:
        warm_up(impl)
    prepare_s = time.perf_counter() - start
    log(f"[{spec.label}] {len(impls)} frameworks prepared and checked in {prepare_s:.1f}s")
    results = []
    for metric in metrics:
        start = time.perf_counter()
        calls = {impl.name: sample_fn(metric, impl, key, x) for impl in impls}
        skipped = [f for f in calls if f == "nnx" and metric in TRACED_INIT
                   and spec.leaves > NNX_INIT_TRACE_LEAVES]  # fmt: skip
        # One untimed-for-the-result call each: compiles, and finds the very slow frameworks.
        first = {f: timed(call) for f, call in calls.items() if f not in skipped}
        slow = [f for f, t in first.items() if t > SLOW_S["quick" if quick else "full"]
                and f != "jax_dict"]  # fmt: skip
        timed_once = {f: [timed(calls[f])] for f in slow}
        fast = [f for f in first if f not in slow]
        # Compiling is slow: the first-call metric gets the minimum number of repeats.
        metric_budget = dataclasses.replace(budget, lo=min(budget.lo, 3), hi=min(budget.hi, 3)) \
            if metric == "init_jit_first" else budget  # fmt: skip
        loops, samples = interleaved([calls[f] for f in fast], metric_budget,
                                     looped=metric in LOOPED)  # fmt: skip
        by_fw = dict(zip(fast, samples, strict=True)) | timed_once
        results.append({"metric": metric, "loops_per_sample": loops, "samples_s": by_fw,
                        "timed_once": slow, "skipped": skipped})  # fmt: skip
        medians = "  ".join(f"{LABELS[f]}={fmt_time(statistics.median(s))}"
                            + ("(once)" if f in slow else "") for f, s in by_fw.items())
        log(f"[{spec.label}] {metric:<16} n={len(samples[0]):<3} {medians}  "
            f"({time.perf_counter() - start:.1f}s)")
    return {"config": config, "label": spec.label, "kind": spec.kind, "layers": spec.layers,
            "width": spec.width, "leaves": spec.leaves, "prepare_s": prepare_s,
            "checked": True, "results": results}  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------- parent: run and report


def run_config(config: str, frameworks: Sequence[str], metrics: Sequence[str],
               quick: bool, explicit: bool) -> dict:  # fmt: skip
    """One configuration in a fresh process; its progress goes to our stderr."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", config,
           "--frameworks", ",".join(frameworks), "--metrics", ",".join(metrics)]  # fmt: skip
    cmd += ["--quick"] * quick + ["--explicit-metrics"] * explicit
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(configs: list[dict]) -> list[dict]:
    """Per (config, metric): medians per framework and paired ratios against JAX dict."""
    from _timing import paired_ratio

    rows = []
    for c in configs:
        for r in c["results"]:
            samples = r["samples_s"]
            ref = samples["jax_dict"]
            once = set(r.get("timed_once", ()))
            rows.append({
                "config": c["label"], "kind": c["kind"], "layers": c["layers"],
                "width": c["width"], "leaves": c["leaves"], "metric": r["metric"],
                "repeats": len(ref), "timed_once": sorted(once),
                "skipped": r.get("skipped", []),
                "median_s": {f: statistics.median(s) for f, s in samples.items()},
                # Timed once (too slow to interleave): against the reference's median.
                "ratio": {f: s[0] / statistics.median(ref) if f in once else paired_ratio(s, ref)
                          for f, s in samples.items()},
            })  # fmt: skip
    return rows


def slopes(rows: list[dict]) -> dict[str, Any]:
    """Least-squares slope of the median over the number of leaves, MLPs of one width."""
    widths: dict[int, set[int]] = {}
    for r in rows:
        if r["kind"] == "mlp":
            widths.setdefault(r["width"], set()).add(r["layers"])
    if not widths or max(len(v) for v in widths.values()) < 2:
        return {}
    width = max(widths, key=lambda w: (len(widths[w]), -w))
    out: dict[str, Any] = {"width": width, "layers": sorted(widths[width]), "per_leaf_s": {}}
    for metric in dict.fromkeys(r["metric"] for r in rows):
        points = [r for r in rows if r["kind"] == "mlp" and r["width"] == width
                  and r["metric"] == metric]  # fmt: skip
        if len(points) < 2:
            continue
        xs = [p["leaves"] for p in points]
        mx = statistics.fmean(xs)
        sxx = sum((v - mx) ** 2 for v in xs)
        out["per_leaf_s"][metric] = {}
        for f in points[0]["median_s"]:
            if any(f not in p["median_s"] for p in points):
                continue
            ys = [p["median_s"][f] for p in points]
            my = statistics.fmean(ys)
            out["per_leaf_s"][metric][f] = sum(
                (a - mx) * (b - my) for a, b in zip(xs, ys, strict=True)) / sxx
    return out


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, checked on the measured ratios (worst configuration per metric)."""
    out = []
    for metric in dict.fromkeys(r["metric"] for r in rows):
        mine = [r for r in rows if r["metric"] == metric]
        if "scopejax" not in mine[0]["ratio"]:
            continue
        worst = max(mine, key=lambda r: r["ratio"]["scopejax"])
        trace = GROUP[metric] in "abc"
        bound = TRACE_TARGET if trace else RUN_TARGET
        ok = worst["ratio"]["scopejax"] <= bound
        beats = [p for p in PEERS if all(p not in r["median_s"]
                                         or r["median_s"]["scopejax"] < r["median_s"][p]
                                         for r in mine)]  # fmt: skip
        out.append({"metric": metric, "group": GROUP[metric], "bound": bound,
                    "worst_ratio": worst["ratio"]["scopejax"], "worst_config": worst["config"],
                    "met": ok, "beats_everywhere": beats})  # fmt: skip
    return out


def fmt(seconds: float) -> str:
    from _timing import fmt_time

    return fmt_time(seconds)


def markdown(rows: list[dict], slope: dict[str, Any], goals: list[dict]) -> str:
    fws = [f for f in FRAMEWORKS if any(f in r["median_s"] for r in rows)]
    others = [f for f in fws if f != "jax_dict"]
    lines = [
        "| model | metric | n | JAX dict (median) | "
        + " | ".join(f"{LABELS[f]} x" for f in others) + " | scopejax (median) |",
        "|---|---|---:|---:|" + "---:|" * len(others) + "---:|",
    ]
    for r in rows:
        ratios = " | ".join(
            "skipped" if f not in r["ratio"]
            else f"**{r['ratio'][f]:.2f}**" if f == "scopejax"
            else f"{r['ratio'][f]:.2f}" + (" (1 run)" if f in r["timed_once"] else "")
            for f in others
        )
        sj = fmt(r["median_s"]["scopejax"]) if "scopejax" in r["median_s"] else "-"
        lines.append(f"| {r['config']} | ({GROUP[r['metric']]}) {r['metric']} | {r['repeats']} "
                     f"| {fmt(r['median_s']['jax_dict'])} | {ratios} | {sj} |")  # fmt: skip
    if slope.get("per_leaf_s"):
        lines += ["", f"Per-leaf slopes (µs per variable; least squares over MLPs "
                      f"L = {', '.join(map(str, slope['layers']))} at W = {slope['width']}):",
                  "", "| metric | " + " | ".join(LABELS[f] for f in fws) + " |",
                  "|---|" + "---:|" * len(fws)]  # fmt: skip
        for metric, per in slope["per_leaf_s"].items():
            lines.append(f"| {metric} | " + " | ".join(
                f"{per[f] * 1e6:.2f}" if f in per else "-" for f in fws) + " |")
    if goals:
        lines += ["", "Targets (worst configuration; ratio scopejax / JAX dict):", "",
                  "| metric | target | worst ratio | where | met | scopejax faster than, "
                  "everywhere |", "|---|---:|---:|---|---|---|"]  # fmt: skip
        for g in goals:
            beats = ", ".join(LABELS[p] for p in g["beats_everywhere"]) or "-"
            lines.append(f"| ({g['group']}) {g['metric']} | ≤ {g['bound']:.2f} | "
                         f"{g['worst_ratio']:.2f} | {g['worst_config']} | "
                         f"{'yes' if g['met'] else '**no**'} | {beats} |")  # fmt: skip
    return "\n".join(lines)


def sharded_memory(gib: float) -> dict[str, float]:
    """Peak RSS / variable size of one large 8-way sharded init (``bench_sharded_init.py``)."""
    import bench_sharded_init

    rows = int(gib * 2**30 / (1024 * 4)) // 8 * 8
    return {mode: bench_sharded_init.measure(mode, rows) for mode in ("sharded", "pure_jax")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=None,
                        help=f"comma-separated, e.g. mlp:8x16,tfm:64 (default "
                             f"{','.join(FULL_CONFIGS)})")  # fmt: skip
    parser.add_argument("--metrics", default=None,
                        help=f"comma-separated subset of {','.join(METRICS)} (default: all but "
                             f"{','.join(OPT_IN)}; a given list also measures the train step of "
                             f"transformers over {TFM_TRAIN_BLOCKS} blocks)")  # fmt: skip
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {','.join(QUICK_CONFIGS)}, 2-3 repeats")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write samples and summaries here")
    parser.add_argument("--sharded-gib", type=float, default=None,
                        help="size of the sharded-init memory measurement (default 1 GiB in "
                             "the full run, skipped with --quick; 0 skips)")  # fmt: skip
    parser.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--explicit-metrics", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # The parent always passes --metrics to its workers; what the user asked for travels in
    # --explicit-metrics.
    explicit = args.explicit_metrics if args.worker else args.metrics is not None
    metrics = ([m for m in args.metrics.split(",") if m] if args.metrics
               else [m for m in METRICS if m not in OPT_IN])  # fmt: skip
    frameworks = [f for f in args.frameworks.split(",") if f]
    bad = sorted(set(metrics) - set(METRICS)) + sorted(set(frameworks) - set(FRAMEWORKS))
    if bad:
        parser.error(f"unknown metrics/frameworks {bad}; choose from {METRICS} and {FRAMEWORKS}")
    if "jax_dict" not in frameworks:
        parser.error("jax_dict is the reference and must be among --frameworks")
    if args.worker:
        print(json.dumps(worker(args.worker, frameworks, metrics, args.quick, explicit)))
        return 0

    from _timing import environment

    configs = (args.configs.split(",") if args.configs
               else list(QUICK_CONFIGS if args.quick else FULL_CONFIGS))  # fmt: skip
    env = environment(train_batch=TRAIN_BATCH, flax=_version("flax"),
                      haiku=_version("dm-haiku"))  # fmt: skip
    start = time.perf_counter()
    raw = [run_config(c, frameworks, metrics, args.quick, explicit) for c in configs]
    rows = summarize(raw)
    slope, goals = slopes(rows), targets(rows)
    gib = args.sharded_gib if args.sharded_gib is not None else (0.0 if args.quick else 1.0)
    memory = sharded_memory(gib) if gib > 0 else {}
    total = time.perf_counter() - start
    log(f"total {total:.0f}s")
    print(f"scopejax {env['scopejax_revision']}, jax {env['jax']}, flax {env['flax']}, "
          f"haiku {env['haiku']} on {env['backend']} ({env['cpu_count']} CPUs), started "
          f"{env['date']}, {total:.0f}s. Columns x: median of per-repeat ratios to JAX dict "
          "(lower is better).\n")
    print(markdown(rows, slope, goals))
    if memory:
        print(f"\nSharded init, one float32 variable of {gib:g} GiB on 8 CPU devices, peak RSS "
              f"above baseline / size: scopejax {memory['sharded']:.2f}x, pure JAX "
              f"{memory['pure_jax']:.2f}x")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "argv": sys.argv, "configs": raw, "summary": rows,
                       "slopes": slope, "targets": goals, "sharded_memory": memory,
                       "sharded_gib": gib}, f, indent=1)  # fmt: skip
        log(f"wrote {args.json}")
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
