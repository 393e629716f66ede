"""End-to-end TF1-style models: written as TF1 code was, trained with optax, checked for sharing."""

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import scopejax as sj

KEY = jax.random.key(0)
ROOT = Path(__file__).resolve().parents[2]


def train(model, params, loss_of_output, args, steps=60, lr=1e-2):
    opt = optax.adam(lr)
    state = opt.init(params)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(lambda q: loss_of_output(model.apply(q, *args)))(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return params, losses


def tied_autoencoder(x):
    """The decoder re-enters the captured encoder scope with reuse=True, transposing its kernel."""
    with sj.variable_scope("encoder") as enc:
        w = sj.get_variable("w", [x.shape[-1], 3])
        code = jnp.tanh(x @ w)
    with sj.variable_scope("decoder"):
        with sj.variable_scope(enc, reuse=True):
            w_shared = sj.get_variable("w", [x.shape[-1], 3])
        b = sj.get_variable("b", [x.shape[-1]], initializer=sj.zeros_initializer())
        return code @ w_shared.T + b[None, :], w is w_shared


def test_tied_autoencoder_shares_its_kernel_and_trains():
    x = jax.random.normal(jax.random.key(1), (64, 8))
    model = sj.transform(tied_autoencoder)
    (_, shared), params = model.init_with_output(KEY, x)
    assert shared
    assert params.names() == ("decoder/b", "encoder/w")
    params, losses = train(model, params, lambda out: ((out[0] - x) ** 2).mean(), (x,))
    assert losses[-1] < 0.8 * losses[0]


def rnn(xs):
    """A vanilla RNN unrolled in Python, TF1-style: step 0 creates, later steps reuse."""
    h = jnp.zeros((xs.shape[1], 16))
    outputs = []
    with sj.variable_scope("rnn") as scope:
        for t in range(xs.shape[0]):
            if t > 0:
                scope.reuse_variables()
            with sj.variable_scope("cell"):
                wx = sj.get_variable("wx", [xs.shape[-1], 16])
                wh = sj.get_variable("wh", [16, 16], initializer=sj.orthogonal_initializer())
                b = sj.get_variable("b", [16], initializer=sj.zeros_initializer())
            h = jnp.tanh(xs[t] @ wx + h @ wh + b[None, :])
            outputs.append(h)
    with sj.variable_scope("readout"):
        w = sj.get_variable("w", [16, 1])
    return jnp.stack(outputs) @ w


def test_rnn_with_reuse_across_time_steps():
    xs = jax.random.normal(jax.random.key(2), (6, 4, 3))
    target = jnp.cumsum(xs[..., :1], axis=0) / 3
    model = sj.transform(rnn)
    params = model.init(KEY, xs)
    assert params.names() == ("readout/w", "rnn/cell/b", "rnn/cell/wh", "rnn/cell/wx")
    wh = np.asarray(params["rnn/cell/wh"])
    np.testing.assert_allclose(wh.T @ wh, np.eye(16), atol=1e-5)
    params, losses = train(model, params, lambda out: ((out - target) ** 2).mean(), (xs,))
    assert losses[-1] < 0.5 * losses[0]


def test_the_demo_example_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tf1_style_mlp.py"), "--steps", "30"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert "mlp/dense_1/kernel" in out.stdout and "mlp/logits/bias" in out.stdout
    assert "final: loss" in out.stdout
