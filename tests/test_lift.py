"""Lifted control flow: scan, cond, while_loop, vmap, remat, scan_layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj

KEY = jax.random.key(0)
XS = jnp.arange(10.0).reshape(5, 2) / 10


def _cell(h, x):
    w = sj.get_variable("w", [2, 2])
    with sj.variable_scope(None, default_name="gate"):
        b = sj.get_variable("b", [2], initializer=sj.ones_initializer())
    h = jnp.tanh(x + h @ w + b)
    return h, h


def _rnn(xs, reverse=False):
    with sj.variable_scope("rnn"):
        return sj.scan(_cell, jnp.zeros(2), xs, reverse=reverse)


def _unrolled(xs, reverse=False):
    """The same RNN as a Python loop: reuse after the first step, like TF1's static_rnn."""
    h, ys = jnp.zeros(2), []
    steps = range(xs.shape[0] - 1, -1, -1) if reverse else range(xs.shape[0])
    with sj.variable_scope("rnn") as scope:
        for t in steps:
            if t != steps[0]:
                scope.reuse_variables()
            with sj.variable_scope(scope, auxiliary_name_scope=False):
                w = sj.get_variable("w", [2, 2])
                with sj.variable_scope("gate"):
                    b = sj.get_variable("b", [2], initializer=sj.ones_initializer())
            h = jnp.tanh(xs[t] + h @ w + b)
            ys.append(h)
    ys = ys[::-1] if reverse else ys
    return h, jnp.stack(ys)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_creates_on_first_step_and_matches_unrolled_loop(reverse):
    model, loop = sj.transform(_rnn), sj.transform(_unrolled)
    out, params = model.init_with_output(KEY, XS, reverse)
    assert params.names() == ("rnn/gate/b", "rnn/w")
    loop_out, loop_params = loop.init_with_output(KEY, XS, reverse)
    assert loop_params.names() == params.names()
    np.testing.assert_array_equal(params["rnn/w"], loop_params["rnn/w"])
    np.testing.assert_allclose(out[1], loop_out[1], rtol=1e-6)
    np.testing.assert_allclose(jax.jit(model.apply, static_argnums=2)(params, XS, reverse)[1],
                               loop_out[1], rtol=1e-6)  # fmt: skip


def test_scan_under_jit_init_eval_shape_and_grad():
    model = sj.transform(_rnn)
    params = model.init(KEY, XS)
    jitted = jax.jit(model.init)(KEY, XS)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), params, jitted))
    abstract = jax.eval_shape(model.init, KEY, XS)
    assert abstract.names() == params.names()
    grads = jax.grad(lambda p: model.apply(p, XS)[1].sum())(params)
    assert grads.names() == params.names() and float(jnp.abs(grads["rnn/w"]).sum()) > 0


def test_scan_keeps_reuse_errors_of_the_body():
    def body(h, x):
        sj.get_variable("w", [2])
        sj.get_variable("w", [2])  # reuse=False: TF raises while building the loop body
        return h, x

    with pytest.raises(ValueError, match="Variable w already exists"):
        sj.transform(lambda xs: sj.scan(body, 0.0, xs)).init(KEY, XS)


def test_scan_rng_differs_per_step_and_is_deterministic():
    def noise(xs):
        def body(c, x):
            return c, jax.random.uniform(sj.next_rng_key(), ())
        return sj.scan(body, 0.0, xs)[1]

    model = sj.transform(noise)
    params = model.init(KEY, XS)
    a = model.apply(params, XS, rng=jax.random.key(1))
    b = jax.jit(model.apply)(params, XS, rng=jax.random.key(1))
    assert len(set(np.asarray(a).tolist())) == 5
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.apply(params, XS, rng=jax.random.key(2)))


def test_plain_lax_scan_creating_a_variable_in_init_names_the_lifted_scan():
    def plain(xs):
        def body(h, x):
            return jnp.tanh(x + h @ sj.get_variable("w", [2, 2])), None
        return jax.lax.scan(body, jnp.zeros(2), xs)[0]

    with pytest.raises(sj.TransformLeakError, match=r"Variable w was created inside a JAX "
                       r"transform .* Use the lifted versions scopejax.scan"):  # fmt: skip
        sj.transform(plain).init(KEY, XS)
    # Apply only reads: a plain lax.scan (and jax.checkpoint) work there.
    params = sj.transform(lambda xs: sj.get_variable("w", [2, 2])).init(KEY, XS)
    out = jax.jit(sj.transform(plain).apply)(params, XS)
    assert out.shape == (2,)
    remat = sj.transform(lambda x: jax.checkpoint(lambda y: y @ sj.get_variable("w", [2, 2]))(x))
    assert remat.apply(params, XS).shape == (5, 2)


def test_cond_creates_both_branches_like_tf_and_runs_one():
    def f(x, pred):
        def true_fn(x):
            with sj.variable_scope("t"):
                return x * sj.get_variable("a", [], initializer=sj.constant_initializer(2.0))

        def false_fn(x):
            with sj.variable_scope("f"):
                return x * sj.get_variable("b", [], initializer=sj.constant_initializer(3.0))

        return sj.cond(pred, true_fn, false_fn, x)

    model = sj.transform(f)
    out, params = model.init_with_output(KEY, 1.0, False)
    assert params.names() == ("f/b", "t/a") and float(out) == 3.0
    apply = jax.jit(model.apply)
    assert float(apply(params, 1.0, True)) == 2.0 and float(apply(params, 1.0, False)) == 3.0


def test_while_loop_body_gets_variables():
    def f(x):
        def body(c):
            i, v = c
            return i + 1, v * sj.get_variable("scale", [], initializer=sj.constant_initializer(2.0))

        return sj.while_loop(lambda c: c[0] < 3, body, (0, x))[1]

    model = sj.transform(f)
    out, params = model.init_with_output(KEY, 1.0)
    assert params.names() == ("scale",) and float(out) == 8.0
    assert float(jax.jit(model.apply)(params, 1.0)) == 8.0


def test_vmap_shares_variables_and_splits_rng():
    def per_example(x):
        w = sj.get_variable("w", [2], initializer=sj.ones_initializer())
        return x * w + jax.random.uniform(sj.next_rng_key(), ())

    model = sj.transform(lambda xs: sj.vmap(per_example)(xs))
    out, params = model.init_with_output(KEY, XS)
    assert params.names() == ("w",) and out.shape == (5, 2)
    noise = model.apply(params, XS, rng=jax.random.key(3)) - XS
    assert len(set(np.round(np.asarray(noise[:, 0]), 6).tolist())) == 5
    with pytest.raises(TypeError, match="in_axes has 1 entries for 2 positional arguments"):
        sj.transform(lambda a, b: sj.vmap(lambda a, b: a, in_axes=(0,))(a, b)).init(KEY, XS, XS)


def test_remat_gives_the_same_values_and_grads_and_carries_assignments():
    def block(x):
        w = sj.get_variable("w", [2, 2])
        count = sj.get_variable("count", [], jnp.int32, trainable=False)
        sj.assign_add(count, 1)
        return jnp.tanh(x @ w)

    plain, lifted = sj.transform(block), sj.transform(sj.remat(block))
    params = plain.init(KEY, XS)
    np.testing.assert_array_equal(lifted.init(KEY, XS)["w"], params["w"])

    trainable, state = params.split()

    def loss(model):
        return lambda t: model.apply(t.merge(state), XS, mutable=True)[0].sum()

    np.testing.assert_allclose(jax.grad(loss(lifted))(trainable)["w"],
                               jax.grad(loss(plain))(trainable)["w"], rtol=1e-6)  # fmt: skip
    _, new = jax.jit(lambda p: lifted.apply(p, XS, mutable=True))(params)
    assert int(new["count"]) == 1


def test_assign_inside_scan_is_refused_with_a_fix():
    def f(xs):
        def body(c, x):
            sj.assign_add(sj.get_variable("n", [], jnp.int32, trainable=False), 1)
            return c, x
        return sj.scan(body, 0, xs)

    model = sj.transform(f)
    with pytest.raises(sj.TransformLeakError, match=r"assigned inside a scopejax.scan .* Return"):
        model.init(KEY, XS)


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


def test_lifted_transforms_need_a_transform():
    with pytest.raises(RuntimeError, match=r"scopejax.scan was called outside"):
        sj.scan(lambda c, x: (c, x), 0, XS)


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


def test_nested_lifted_transforms_create_once_and_match_init_and_jit():
    def model(xs):
        def outer(h, x):
            def inner(c, y):
                with sj.variable_scope("inner"):
                    c = jnp.tanh(c + y * sj.get_variable("a", [2]))
                return c, None

            h = sj.scan(inner, h, jnp.stack([x, x]))[0]
            h = sj.cond(h.sum() > 0, lambda v: v * sj.get_variable("pos", [2]),
                        lambda v: v * sj.get_variable("neg", [2]), h)  # fmt: skip
            return h, h

        with sj.variable_scope("rnn"):
            return sj.scan(outer, jnp.zeros(2), xs)[1]

    m = sj.transform(model)
    out, params = m.init_with_output(KEY, XS)
    assert params.names() == ("rnn/inner/a", "rnn/neg", "rnn/pos")
    np.testing.assert_allclose(jax.jit(m.apply)(params, XS), out, rtol=1e-6)
    jitted = jax.jit(m.init)(KEY, XS)
    assert all(bool((jitted[n] == params[n]).all()) for n in params)


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
