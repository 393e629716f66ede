"""A TF1-style model, written the way TF1 code was, trained with optax on two interleaved spirals.

Run: bash scripts/demo.sh [--steps N]

What it shows: `variable_scope` + `get_variable` layers with default names (`dense`, `dense_1`),
a scope-level initializer, a tower that shares every variable under `reuse=True`, `init` /
`apply` under `jax.jit`, and the resulting ParamStore.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np
import optax

import scopejax as sj


def dense(x, units, activation=None, name=None):
    """tf.layers.dense in five lines: a default-named scope with kernel and bias."""
    with sj.variable_scope(name, default_name="dense"):
        kernel = sj.get_variable("kernel", [x.shape[-1], units])
        bias = sj.get_variable("bias", [units], initializer=sj.zeros_initializer())
        y = x @ kernel + bias[None, :]
    return activation(y) if activation is not None else y


def classifier(x):
    with sj.variable_scope("mlp", initializer=sj.variance_scaling_initializer(2.0)):
        h = dense(x, 64, jax.nn.relu)  # mlp/dense
        h = dense(h, 64, jax.nn.relu)  # mlp/dense_1
        return dense(h, 2, name="logits")  # mlp/logits


def train_and_eval_towers(x_train, x_eval):
    """The TF1 idiom for a second tower: re-open the model's scope with reuse=True."""
    train_logits = classifier(x_train)
    with sj.variable_scope(sj.get_variable_scope(), reuse=True):
        eval_logits = classifier(x_eval)
    return train_logits, eval_logits


def spirals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
    label = rng.integers(0, 2, n)
    sign = np.where(label == 1, -1.0, 1.0)
    xy = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / (3 * np.pi)
    return (xy + rng.normal(0, 0.02, xy.shape)).astype(np.float32), label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x_train, y_train = spirals(1024, args.seed)
    x_eval, y_eval = spirals(512, args.seed + 1)
    model = sj.transform(train_and_eval_towers)
    params = model.init(jax.random.key(args.seed), x_train, x_eval)

    print(f"{len(params)} variables, {sum(v.size for v in params.values()):,} parameters:")
    for name, value in params.items():
        info = params.info(name)
        shape = f"{value.dtype.name}{list(value.shape)}"
        print(f"  {name:<20} {shape:<16} trainable={info.trainable}")

    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)

    def loss_fn(p, x, y, xe, ye):
        logits, eval_logits = model.apply(p, x, xe)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        accuracy = (eval_logits.argmax(-1) == ye).mean()
        return loss, accuracy

    @jax.jit
    def step(p, state, x, y, xe, ye):
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, x, y, xe, ye)
        updates, state = optimizer.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss, acc

    for i in range(args.steps + 1):
        params, opt_state, loss, acc = step(params, opt_state, x_train, y_train, x_eval, y_eval)
        if i % max(1, args.steps // 6) == 0:
            print(f"step {i:4d}  loss {float(loss):.4f}  eval accuracy {float(acc):.3f}")
    print(f"final: loss {float(loss):.4f}, eval accuracy {float(acc):.3f}; "
          f"params is still a {type(params).__name__} with {len(params)} named variables")


if __name__ == "__main__":
    main()
