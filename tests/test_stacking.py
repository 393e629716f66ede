"""scan_layers: stacked layer variables under one lax.scan, equal to the Python loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj

KEY = jax.random.key(0)
XS = jnp.arange(10.0).reshape(5, 2) / 10


def _layer(h):
    with sj.variable_scope("dense"):
        w = sj.get_variable("w", [2, 2], regularizer=sj.l2_regularizer(1.0))
    return jnp.tanh(h @ w)


def _stack(x):
    h = sj.scan_layers(_layer, x, 3)
    return h, sj.get_regularization_loss(), len(sj.get_collection("variables"))


def _loop(x):
    for i in range(3):
        with sj.variable_scope(f"layer_{i}"):
            x = _layer(x)
    return x, sj.get_regularization_loss(), len(sj.get_collection("variables"))


def test_scan_layers_stacks_variables_and_matches_the_python_loop():
    stack, loop = sj.transform(_stack), sj.transform(_loop)
    params = stack.init(KEY, XS)
    assert params.names() == ("layer_*/dense/w",)
    info = params.info("layer_*/dense/w")
    assert info.shape == (3, 2, 2) and info.stacked == 3
    # Each layer's slice is the value the Python loop gives that layer (keys from TF names).
    loop_params = loop.init(KEY, XS)
    unstacked = params.unstack_layers()
    assert unstacked.names() == ("layer_0/dense/w", "layer_1/dense/w", "layer_2/dense/w")
    for name in loop_params:
        np.testing.assert_array_equal(unstacked[name], loop_params[name])
    assert unstacked.infos() == loop_params.infos()
    want = loop.apply(loop_params, XS)
    init_out = stack.init_with_output(KEY, XS)[0]
    for got in (init_out, stack.apply(params, XS), jax.jit(stack.apply)(params, XS)):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)  # one l2 loss per layer
        assert got[2] == 1 and want[2] == 3  # the stacked variable is one variable
    g_stack = jax.grad(lambda p: stack.apply(p, XS)[0].sum() + stack.apply(p, XS)[1])(params)
    g_loop = jax.grad(lambda p: loop.apply(p, XS)[0].sum() + loop.apply(p, XS)[1])(loop_params)
    for i in range(3):
        np.testing.assert_allclose(g_stack["layer_*/dense/w"][i], g_loop[f"layer_{i}/dense/w"],
                                   rtol=1e-5)  # fmt: skip


def test_scan_layers_under_jit_init_and_eval_shape():
    stack = sj.transform(_stack)
    params = stack.init(KEY, XS)
    jitted = jax.jit(stack.init)(KEY, XS)
    np.testing.assert_array_equal(jitted["layer_*/dense/w"], params["layer_*/dense/w"])
    assert jax.eval_shape(stack.init, KEY, XS).info("layer_*/dense/w").stacked == 3


def test_scan_layers_errors():
    loop_params = sj.transform(_loop).init(KEY, XS)
    with pytest.raises(KeyError, match=r"read the per-layer variable layer_0/dense/w from the "
                       r"params, but it stores its layers stacked, as layer_\*/dense/w of shape "
                       r"\(3, ...\)"):  # fmt: skip
        sj.transform(_stack).apply(loop_params, XS)
    with pytest.raises(KeyError, match=r"Variable layer_0/dense/w is not in the params"):
        sj.transform(_stack).apply(sj.ParamStore(), XS)
    with pytest.raises(TypeError, match="num_layers must be an int >= 1"):
        sj.transform(lambda x: sj.scan_layers(_layer, x, 0)).init(KEY, XS)
    with pytest.raises(TypeError, match="name_format must be a str with a"):
        sj.transform(lambda x: sj.scan_layers(_layer, x, 2, "layer")).init(KEY, XS)
    with pytest.raises(TypeError, match=r"scopejax.scan: f must be callable"):
        sj.transform(lambda x: sj.scan(3, 0, x)).init(KEY, XS)


def _noisy_layer(h):
    with sj.variable_scope("dense"):
        w = sj.get_variable("w", [2, 2])
    with sj.variable_scope("dropout"):
        keep = jax.random.bernoulli(sj.next_rng_key(), 0.5, h.shape)
    return jnp.where(keep, jnp.tanh(h @ w), 0.0) + jax.random.normal(sj.next_rng_key(), h.shape)


def test_scan_layers_draws_each_layers_own_keys_like_the_python_loop():
    def stacked(x):
        return sj.scan_layers(_noisy_layer, x, 3), sj.next_rng_key()

    def loop(x):
        for i in range(3):
            with sj.variable_scope(f"layer_{i}"):
                x = _noisy_layer(x)
        return x, sj.next_rng_key()

    params = sj.transform(stacked).init(KEY, XS)
    rng = jax.random.key(5)
    got = jax.jit(sj.transform(stacked).apply)(params, XS, rng=rng)
    want = sj.transform(loop).apply(params.unstack_layers(), XS, rng=rng)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    assert (jax.random.key_data(got[1]) == jax.random.key_data(want[1])).all()


def _bn_layer(h):
    mean = sj.get_variable("moving_mean", [2], trainable=False, initializer=sj.zeros_initializer())
    sj.assign_moving_average(mean, h.mean(0), decay=0.5)
    with sj.variable_scope("dense"):
        return jnp.tanh(h @ sj.get_variable("w", [2, 2]))


def test_scan_layers_carries_each_layers_assignments_out():
    def stacked(x):
        return sj.scan_layers(_bn_layer, x, 3)

    def loop(x):
        for i in range(3):
            with sj.variable_scope(f"layer_{i}"):
                x = _bn_layer(x)
        return x

    model = sj.transform(stacked)
    params = model.init(KEY, XS)
    np.testing.assert_array_equal(params["layer_*/moving_mean"], np.zeros((3, 2)))
    out, new = jax.jit(lambda p: model.apply(p, XS, mutable=True))(params)
    want, want_new = sj.transform(loop).apply(params.unstack_layers(), XS, mutable=True)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    np.testing.assert_allclose(new.unstack_layers()["layer_2/moving_mean"],
                               want_new["layer_2/moving_mean"], rtol=1e-6)  # fmt: skip
    assert not np.allclose(new["layer_*/moving_mean"][1], 0.0)
    with pytest.raises(sj.NotMutableError, match="layer_0/moving_mean: this apply call is not"):
        model.apply(params, XS)

    def shared(x):
        n = sj.get_variable("n", [], trainable=False, initializer=sj.zeros_initializer())
        return sj.scan_layers(lambda h: (sj.assign_add(n, 1.0), h)[1], x, 2)

    with pytest.raises(sj.TransformLeakError, match=r"Variable n is assigned inside scopejax."
                       r"scan_layers' layer but is not one of the layer's own"):  # fmt: skip
        sj.transform(shared).init(KEY, XS)


def test_partitioned_variables_inside_scan_layers_are_refused():
    def f(x):
        def layer(h):
            w = sj.get_variable("w", [2, 2], partitioner=sj.fixed_size_partitioner(2))
            return h @ w
        return sj.scan_layers(layer, x, 2)

    with pytest.raises(sj.UnsupportedFeatureError, match=r"Variable layer_0/w is partitioned "
                       r"inside scopejax.scan_layers"):  # fmt: skip
        sj.transform(f).init(KEY, XS)
