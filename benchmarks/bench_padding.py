"""The cost of padding an uneven partitioned variable: a sharded softmax layer, 8 CPU devices.

Run: .venv/bin/python benchmarks/bench_padding.py [--repeats 15]

A language-model head (embedding lookup, softmax over the vocabulary, cross-entropy, adam) whose
embedding and softmax weights are partitioned 8 ways on an 8-device mesh. With a vocabulary of
50264 rows (8 x 6283) the shards are even; with 50257 (GPT-2's) scopejax stores 50264 rows and
hands the model a 50257-row slice. Both train steps are jitted and warmed up, then timed
interleaved (one call of each per repeat, order alternating); the table gives medians and the
median of per-repeat ratios padded/even.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

import scopejax as sj

DIM, BATCH = 256, 64


def make_step(vocab: int, mesh: Mesh):
    def head(ids):
        with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(8)):
            emb = sj.get_variable("embedding", [vocab, DIM])
            w = sj.get_variable("softmax_w", [DIM, vocab],
                                partitioner=sj.fixed_size_partitioner(8, axis=1))  # fmt: skip
        logits = emb[ids] @ w
        return optax.softmax_cross_entropy_with_integer_labels(logits, ids).mean()

    model = sj.transform(head, mesh=mesh)
    ids = jnp.arange(BATCH) * 97 % vocab
    params = model.init(jax.random.key(0), ids)
    opt = optax.adam(1e-3)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(model.apply)(p, ids)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    state = [params, opt.init(params)]

    def run() -> float:
        t = time.perf_counter()
        p, s, loss = step(*state)
        jax.block_until_ready(loss)
        state[:] = [p, s]
        return time.perf_counter() - t

    for _ in range(3):
        run()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    mesh = Mesh(np.array(jax.devices()), ("x",))
    even, padded = make_step(50264, mesh), make_step(50257, mesh)
    t_even, t_pad = [], []
    for r in range(args.repeats):
        pair = (even, padded) if r % 2 == 0 else (padded, even)
        times = [f() for f in pair]
        a, b = times if r % 2 == 0 else times[::-1]
        t_even.append(a)
        t_pad.append(b)
    ratios = [b / a for a, b in zip(t_even, t_pad, strict=True)]
    print(f"jax {jax.__version__}, 8 CPU devices, dim {DIM}, batch {BATCH}, {args.repeats} repeats")
    print("| vocabulary | train step (median) |\n|---|---:|")
    print(f"| 50264 (even shards) | {statistics.median(t_even) * 1e3:.1f} ms |")
    print(f"| 50257 (padded to 50264) | {statistics.median(t_pad) * 1e3:.1f} ms |")
    print(f"ratio padded/even (median of per-repeat ratios): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
