"""Lifted control flow: scan, cond, while_loop, vmap, remat."""

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


def test_lifted_transforms_need_a_transform():
    with pytest.raises(RuntimeError, match=r"scopejax.scan was called outside"):
        sj.scan(lambda c, x: (c, x), 0, XS)


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


def test_lifted_loops_under_a_mesh():
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("x",))
    model = sj.transform(_rnn, mesh=mesh)
    params = model.init(KEY, XS)
    plain = sj.transform(_rnn).init(KEY, XS)
    for name in plain:
        np.testing.assert_array_equal(params[name], plain[name])
    np.testing.assert_allclose(jax.jit(model.apply)(params, XS)[1],
                               sj.transform(_rnn).apply(plain, XS)[1], rtol=1e-6)  # fmt: skip
