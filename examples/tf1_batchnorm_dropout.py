"""TF1-style batch norm, dropout and weight decay, trained with optax: the README's recipe.

Run: .venv/bin/python examples/tf1_batchnorm_dropout.py [--steps N]

What it shows: moving averages updated through `assign_moving_average` and returned by
`apply(..., mutable=True)`; dropout keys from `next_rng_key()` fed by `apply(..., rng=key)`; an
l2 regulariser set once on the model scope and summed by `get_regularization_loss()`; a max-norm
`constraint` projected after every optimiser step; training only the trainable variables.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import scopejax as sj
from scopejax import GraphKeys


def dense(x, units, name=None, constraint=None):
    with sj.variable_scope(name, default_name="dense"):
        kernel = sj.get_variable("kernel", [x.shape[-1], units], constraint=constraint)
        bias = sj.get_variable("bias", [units], initializer=sj.zeros_initializer())
        return x @ kernel + bias[None, :]


def batch_norm(x, training, decay=0.9, epsilon=1e-3):
    """tf.layers.batch_normalization's variables and update rule."""
    with sj.variable_scope(None, default_name="batch_normalization"):
        units = [x.shape[-1]]
        beta = sj.get_variable("beta", units, initializer=sj.zeros_initializer())
        gamma = sj.get_variable("gamma", units, initializer=sj.ones_initializer())
        stats = dict(trainable=False, regularizer=sj.no_regularizer,
                     collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.MOVING_AVERAGE_VARIABLES])
        moving_mean = sj.get_variable("moving_mean", units, initializer=sj.zeros_initializer(),
                                      **stats)
        moving_var = sj.get_variable("moving_variance", units,
                                     initializer=sj.ones_initializer(), **stats)
        if training:
            mean, var = x.mean(0), x.var(0)
            sj.assign_moving_average(moving_mean, mean, decay)
            sj.assign_moving_average(moving_var, var, decay)
        else:
            mean, var = moving_mean, moving_var
        scale = jax.lax.rsqrt(var + epsilon) * gamma
        return (x - mean[None, :]) * scale[None, :] + beta[None, :]


def dropout(x, rate, training):
    if not training:
        return x
    keep = jax.random.bernoulli(sj.next_rng_key(), 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def max_norm(limit):
    def project(kernel):
        norms = jnp.linalg.norm(kernel, axis=0, keepdims=True)
        return kernel * jnp.minimum(1.0, limit / jnp.maximum(norms, 1e-12))

    return project


def classifier(x, training):
    """Returns (logits, regularisation loss of this call)."""
    with sj.variable_scope("model", regularizer=sj.l2_regularizer(1e-4)):
        h = x
        for _ in range(2):
            h = dense(h, 64, constraint=max_norm(3.0))
            h = jax.nn.relu(batch_norm(h, training))
            h = dropout(h, 0.1, training)
        logits = dense(h, 2, name="logits")
    return logits, sj.get_regularization_loss()


def rings(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    radius = np.where(label == 1, 1.0, 0.5) + rng.normal(0, 0.08, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    return xy.astype(np.float32), label


def train(steps: int = 300, seed: int = 0, log: bool = True) -> dict:
    x, y = rings(1024, seed)
    x_eval, y_eval = rings(512, seed + 1)
    net = sj.transform(classifier)
    params = net.init(jax.random.key(seed), x, True)

    # The README's recipe: differentiate the trainable part, carry the rest (moving averages).
    trainable, rest = params.split()
    opt = optax.adam(1e-2)
    opt_state = opt.init(trainable)

    @jax.jit
    def train_step(trainable, rest, opt_state, key):
        def loss_fn(trainable):
            (logits, reg), new = net.apply(trainable.merge(rest), x, True, rng=key,
                                           mutable=[GraphKeys.MOVING_AVERAGE_VARIABLES])
            task = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return task + reg, (task, new)

        (_, (task, new)), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        updates, opt_state = opt.update(grads, opt_state, trainable)
        trainable = optax.apply_updates(trainable, updates).apply_constraints()
        return trainable, new.split()[1], opt_state, task

    @jax.jit
    def accuracy(params):
        logits, _ = net.apply(params, x_eval, False)  # eval: no rng, nothing assigned
        return (logits.argmax(-1) == y_eval).mean()

    keys = jax.random.split(jax.random.key(seed + 100), steps)
    losses = []
    for step in range(steps):
        trainable, rest, opt_state, loss = train_step(trainable, rest, opt_state, keys[step])
        losses.append(float(loss))
        if log and (step % 50 == 0 or step == steps - 1):
            print(f"step {step:4d}  loss {losses[-1]:.4f}")
    params = trainable.merge(rest)
    result = {"losses": losses, "accuracy": float(accuracy(params)), "params": params}
    if log:
        moving_var = params["model/batch_normalization/moving_variance"]
        print(f"eval accuracy {result['accuracy']:.3f}; first batch norm's moving variance: "
              f"{np.asarray(moving_var[:3]).round(3)} (initially 1)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train(args.steps, args.seed)


if __name__ == "__main__":
    main()
