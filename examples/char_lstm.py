"""A TF1-style character LSTM language model on the Python standard library's own sources.

Run: bash scripts/demo.sh [--steps N] [--hidden H] [--layers L] [--fresh] [--tiny] [--help]

Written the way TF1 code was: `variable_scope` / `get_variable`, one LSTM cell whose variables
are created at the first time step and reused at every other (`scopejax.scan`, TF's
`dynamic_rnn`), MultiRNNCell names (`lm/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel`), an
embedding and a softmax partitioned along the vocabulary with `fixed_size_partitioner` (the
classic TF1 language models' layout), and an l2 regulariser whose losses come from the
REGULARIZATION_LOSSES collection. The partitions are sharded over 8 virtual CPU devices (the
vocabulary does not divide by 8: the shards are uneven, as TF allows). Training uses optax with a
tqdm progress bar, prints the parameter summary first, checkpoints with orbax every few steps
(run again to resume; `--fresh` starts over) and ends with a generated sample.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import argparse
import dataclasses
import pathlib
import sysconfig
import time
from collections import Counter
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import scopejax as sj

UNKNOWN = "\x00"  # stands for the rare characters left out of the vocabulary


# ----------------------------------------------------------------------------------- the corpus


@dataclasses.dataclass(frozen=True)
class Corpus:
    vocab: str  # index -> character
    train: np.ndarray  # int32 ids
    valid: np.ndarray

    def encode(self, text: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.vocab)}
        return np.array([index.get(c, 0) for c in text], np.int32)

    def decode(self, ids: Any) -> str:
        return "".join(self.vocab[i] for i in np.asarray(ids)).replace(UNKNOWN, "?")


def stdlib_corpus(num_bytes: int, min_count: int = 20) -> Corpus:
    """The first ``num_bytes`` characters of the standard library's top-level ``.py`` files."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        size += len(text)
        if size >= num_bytes:
            break
    text = "".join(parts)[:num_bytes]
    if len(text) < 10_000:
        raise SystemExit(f"Found only {len(text)} characters of Python sources under {root}.")
    counts = Counter(text)
    vocab = UNKNOWN + "".join(sorted(c for c, n in counts.items() if n >= min_count))
    corpus = Corpus(vocab, np.zeros(0, np.int32), np.zeros(0, np.int32))
    ids = corpus.encode(text)
    split = int(len(ids) * 0.95)
    return dataclasses.replace(corpus, train=ids[:split], valid=ids[split:])


def batch(ids: np.ndarray, step: int, batch_size: int, seq_len: int, seed: int) -> np.ndarray:
    """Batch ``step`` of random windows: the same at every run, so a resumed run continues."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(ids) - seq_len - 1, batch_size)
    return np.stack([ids[s : s + seq_len + 1] for s in starts])


# ------------------------------------------------------------------------------------ the model


@dataclasses.dataclass(frozen=True)
class Config:
    vocab: int
    embed: int = 64
    hidden: int = 256
    layers: int = 1
    shards: int = 8  # partitions of the embedding and the softmax
    l2: float = 1e-6


def lstm_cell(x, state, hidden):
    """tf.nn.rnn_cell.LSTMCell: kernel over [x, h], gates i, j, f, o, forget bias 1."""
    c, h = state
    with sj.variable_scope("lstm_cell"):
        kernel = sj.get_variable("kernel", [x.shape[-1] + hidden, 4 * hidden])
        bias = sj.get_variable("bias", [4 * hidden], initializer=sj.zeros_initializer())
    gates = jnp.concatenate([x, h], axis=-1) @ kernel + bias[None, :]
    i, j, f, o = jnp.split(gates, 4, axis=-1)
    c = c * jax.nn.sigmoid(f + 1.0) + jax.nn.sigmoid(i) * jnp.tanh(j)
    return (c, jnp.tanh(c) * jax.nn.sigmoid(o))


def multi_rnn_cell(x, states, hidden):
    """tf.nn.rnn_cell.MultiRNNCell: cell_0, cell_1, ... stacked; returns (top output, states)."""
    new = []
    with sj.variable_scope("multi_rnn_cell"):
        for layer, state in enumerate(states):
            with sj.variable_scope(f"cell_{layer}"):
                state = lstm_cell(x, state, hidden)
            new.append(state)
            x = state[1]
    return x, tuple(new)


def embed(ids, cfg: Config):
    embedding = sj.get_variable(
        "embedding", [cfg.vocab, cfg.embed],
        initializer=sj.random_uniform_initializer(-0.1, 0.1),
        partitioner=sj.fixed_size_partitioner(cfg.shards))  # fmt: skip
    return embedding[ids]  # tf.nn.embedding_lookup on the PartitionedVariable


def softmax_logits(h, cfg: Config):
    softmax_w = sj.get_variable("softmax_w", [cfg.vocab, cfg.hidden],
                                partitioner=sj.fixed_size_partitioner(cfg.shards))  # fmt: skip
    softmax_b = sj.get_variable("softmax_b", [cfg.vocab], initializer=sj.zeros_initializer())
    return h @ softmax_w.T + softmax_b.reshape((1,) * (h.ndim - 1) + (-1,))


def zero_state(batch_size: int, cfg: Config):
    zeros = jnp.zeros((batch_size, cfg.hidden))
    return tuple((zeros, zeros) for _ in range(cfg.layers))


def language_model(ids, cfg: Config):
    """Mean next-character cross-entropy of ``ids`` [batch, time+1], plus the l2 loss."""
    inputs, targets = ids[:, :-1], ids[:, 1:]
    with sj.variable_scope("lm"):
        xs = jnp.swapaxes(embed(inputs, cfg), 0, 1)  # time major, as dynamic_rnn(time_major)
        with sj.variable_scope("rnn", regularizer=sj.l2_regularizer(cfg.l2)):

            def step(states, x):
                h, states = multi_rnn_cell(x, states, cfg.hidden)
                return states, h

            _, hs = sj.scan(step, zero_state(inputs.shape[0], cfg), xs)
        logits = softmax_logits(jnp.swapaxes(hs, 0, 1), cfg)
    xent = optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()
    return xent + sj.get_regularization_loss(), xent


def next_char_logits(ids, states, cfg: Config):
    """One step of the same model (same variables) for sampling: ids [batch] -> logits."""
    with sj.variable_scope("lm"):
        x = embed(ids, cfg)
        with sj.variable_scope("rnn"):
            h, states = multi_rnn_cell(x, states, cfg.hidden)
        return softmax_logits(h, cfg), states


def sample(params, corpus: Corpus, cfg: Config, prompt: str, length: int, key,
           temperature: float = 0.7) -> str:  # fmt: skip
    step = jax.jit(sj.transform(next_char_logits).apply, static_argnums=3)
    states = zero_state(1, cfg)
    logits = None
    for i in corpus.encode(prompt):
        logits, states = step(params, jnp.array([i]), states, cfg)
    out = []
    for k in jax.random.split(key, length):
        i = jax.random.categorical(k, logits[0] / temperature)
        out.append(int(i))
        logits, states = step(params, i[None], states, cfg)
    return prompt + corpus.decode(out)


# ------------------------------------------------------------------------------------- training


def train(args: argparse.Namespace) -> dict[str, Any]:
    from tqdm import tqdm

    from scopejax import checkpoint

    corpus = stdlib_corpus(args.corpus_bytes)
    cfg = Config(vocab=len(corpus.vocab), embed=args.embed, hidden=args.hidden,
                 layers=args.layers, shards=args.shards)  # fmt: skip
    mesh = jax.make_mesh((len(jax.devices()),), ("x",),
                         axis_types=(jax.sharding.AxisType.Auto,))  # fmt: skip
    model = sj.transform(language_model, mesh=mesh)
    example = batch(corpus.train, 0, args.batch, args.seq_len, args.seed)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(args.lr))

    manager = checkpoint.CheckpointManager(args.ckpt_dir, max_to_keep=2)
    if args.fresh or manager.latest_step() is None:
        params = model.init(jax.random.key(args.seed), example, cfg)
        opt_state, start = optimizer.init(params), 0
    else:  # resume: straight into the shardings init would give, optimiser state alongside
        target = model.init_abstract(jax.random.key(args.seed), example, cfg)
        restored = manager.restore(target=target, extra_target={
            "opt_state": jax.eval_shape(optimizer.init, target)})  # fmt: skip
        params, opt_state = restored.params, restored.extra["opt_state"]
        start = restored.step + 1
        print(f"Resumed from step {restored.step} in {args.ckpt_dir} (--fresh to start over).")
    if args.summary:
        sj.print_summary(params)

    def loss_fn(p, ids):
        return model.apply(p, ids, cfg)

    @jax.jit
    def train_step(p, state, ids):
        (_, xent), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, ids)
        updates, state = optimizer.update(grads, state, p)
        return optax.apply_updates(p, updates), state, xent

    evaluate = jax.jit(loss_fn)
    # Data parallel: each device runs the LSTM on its slice of the batch; the partitioned
    # embedding and softmax stay sharded along the vocabulary on the same devices.
    data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    losses = []
    tokens = args.batch * args.seq_len
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, unit="step",
               disable=not args.progress, dynamic_ncols=True)  # fmt: skip
    begin = time.perf_counter()
    for step in bar:
        ids = jax.device_put(batch(corpus.train, step, args.batch, args.seq_len, args.seed), data)
        params, opt_state, xent = train_step(params, opt_state, ids)
        losses.append(float(xent))
        if len(losses) == 1:  # the first step compiled: rates count from here
            begin = time.perf_counter()
        rate = tokens * (len(losses) - 1) / max(time.perf_counter() - begin, 1e-9)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", tokens_per_s=f"{rate:,.0f}")
        if (step + 1) % args.ckpt_every == 0 or step + 1 == args.steps:
            manager.save(step, params, extra={"opt_state": opt_state})
    bar.close()
    manager.close()
    elapsed = time.perf_counter() - begin
    valid = jax.device_put(batch(corpus.valid, 0, args.batch, args.seq_len, args.seed + 1), data)
    valid_xent = float(evaluate(params, valid)[1])
    text = sample(params, corpus, cfg, "def ", args.sample_chars, jax.random.key(args.seed + 2))
    return {"losses": losses, "valid_xent": valid_xent, "params": params, "sample": text,
            "tokens_per_s": tokens * (len(losses) - 1) / max(elapsed, 1e-9), "config": cfg,
            "start": start}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=None, help="total steps (300; --tiny: 30)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--corpus-bytes", type=int, default=2_000_000)
    p.add_argument("--sample-chars", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ckpt-dir", default="runs/char_lstm", help="checkpoints; a rerun resumes")
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--no-summary", dest="summary", action="store_false")
    p.add_argument("--tiny", action="store_true", help="a seconds-long run (CI smoke test)")
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = 30 if args.tiny else 300
    if args.tiny:
        args.batch, args.seq_len = 8, 32
        args.embed, args.hidden, args.corpus_bytes, args.sample_chars = 16, 32, 200_000, 60
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = train(args)
    if result["losses"]:
        first, last = np.mean(result["losses"][:5]), np.mean(result["losses"][-5:])
        print(f"train loss {first:.3f} -> {last:.3f} over steps {result['start']}-"
              f"{args.steps - 1}, {result['tokens_per_s']:,.0f} tokens/s after compiling")
    print(f"validation loss {result['valid_xent']:.3f} (nats per character)")
    print("sample:\n" + result["sample"])
    return result


if __name__ == "__main__":
    main()
