"""The model of the multi-host test, shared by the workers and the single-process reference."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import scopejax as sj

SEED = 0
V, D = 50, 8  # 50 rows: padded to 56 over 8 shards, to 52 over 4
OPT = optax.adam(1e-2)


def key():
    return jax.random.key(SEED)


def ids():
    return np.arange(32, dtype=np.int32) % V


def _lm(ids, shards):
    with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(shards)):
        emb = sj.get_variable("embedding", [V, D])
        w = sj.get_variable("softmax_w", [D, V],
                            partitioner=sj.fixed_size_partitioner(shards, axis=1))  # fmt: skip
        b = sj.get_variable("softmax_b", [V], initializer=sj.zeros_initializer())
    dense = sj.get_variable("hidden/dense", [D, D])
    logits = jnp.tanh(emb[ids] @ dense) @ w + b[None, :]
    return optax.softmax_cross_entropy_with_integer_labels(logits, ids).mean()


def model(devices, shards):
    """The model and its mesh: 8 devices as ("x",) for 8 shards; for 4 shards as a 4 x 2 mesh
    ("m", "d") whose "m" axis (the shards) spans both processes' devices."""
    devices = np.asarray(devices)
    mesh = Mesh(devices, ("x",)) if shards == 8 else Mesh(devices.reshape(4, 2), ("m", "d"))
    return sj.transform(lambda i: _lm(i, shards), mesh=mesh), mesh


def opt_init(store):
    return OPT.init(store)


def train(model, params, mesh, steps, state=None):
    """``steps`` jitted adam steps; inputs are replicated global arrays on ``mesh``."""
    batch = jax.device_put(ids(), NamedSharding(mesh, PartitionSpec()))
    if state is None:
        state = jax.jit(opt_init)(params)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(model.apply)(p, batch)
        u, s = OPT.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss.addressable_data(0)))
    return params, state, losses
