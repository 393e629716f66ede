"""assign / assign_add / assign_moving_average and apply(mutable=...)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj
from scopejax import GraphKeys

KEY = jax.random.key(0)


def _bn_stats(x):
    with sj.variable_scope("bn"):
        mean = sj.get_variable(
            "moving_mean", [2], initializer=sj.zeros_initializer(), trainable=False,
            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.MOVING_AVERAGE_VARIABLES],
        )  # fmt: skip
        step = sj.get_variable("step", [], jnp.int32, trainable=False)
        new_mean = sj.assign_moving_average(mean, x.mean(0), decay=0.5)
        sj.assign_add("step", 1)  # by name, relative to the current scope
        with sj.variable_scope(sj.get_variable_scope(), reuse=True):
            again = sj.get_variable("moving_mean")  # a read after the assign sees it
        return new_mean, again, step


MODEL = sj.transform(_bn_stats)
X = jnp.ones((4, 2))


def test_apply_mutable_returns_the_updated_store_and_reads_see_assignments():
    params = MODEL.init(None, X)
    (new_mean, again, step), updated = jax.jit(
        lambda p: MODEL.apply(p, X, mutable=True))(params)  # fmt: skip
    np.testing.assert_allclose(new_mean, [0.5, 0.5])
    np.testing.assert_array_equal(again, new_mean)
    assert int(step) == 0  # the value read before the assignment
    assert int(updated["bn/step"]) == 1 and updated.infos() == params.infos()
    _, updated2 = MODEL.apply(updated, X, mutable=[GraphKeys.MOVING_AVERAGE_VARIABLES,
                                                  GraphKeys.GLOBAL_VARIABLES])  # fmt: skip
    np.testing.assert_allclose(updated2["bn/moving_mean"], [0.75, 0.75])


def test_init_returns_initial_values_even_after_assignments():
    params = MODEL.init(None, X)
    np.testing.assert_array_equal(params["bn/moving_mean"], [0.0, 0.0])
    assert int(params["bn/step"]) == 0


def test_assign_without_mutable_is_refused_with_the_fix():
    params = MODEL.init(None, X)
    with pytest.raises(sj.NotMutableError, match=r"Cannot assign to variable bn/moving_mean: "
                       r"this apply call is not mutable. Call model.apply\(params, ..., "
                       r"mutable=True\)"):  # fmt: skip
        MODEL.apply(params, X)
    with pytest.raises(sj.NotMutableError, match=r"bn/step: it is in collections "
                       r"\['variables'\], none of which is mutable in this call "
                       r"\(mutable=\['moving_"):  # fmt: skip
        MODEL.apply(params, X, mutable=GraphKeys.MOVING_AVERAGE_VARIABLES)
    for bad in (3, [], [1]):
        with pytest.raises(TypeError, match=r"apply's mutable= must be True, False, a collection"):
            MODEL.apply(params, X, mutable=bad)


def test_assign_checks_shape_dtype_and_variable():
    def f(value, target="v"):
        v = sj.get_variable("v", [2], trainable=False)
        sj.assign(v if target == "v" else target, value)

    model = sj.transform(f)
    params = model.init(KEY, jnp.zeros(2))
    with pytest.raises(ValueError, match=r"assign: variable v has shape \(2,\), the new value "
                       r"has shape \(3,\)"):  # fmt: skip
        model.apply(params, jnp.zeros(3), mutable=True)
    with pytest.raises(ValueError, match=r"variable v has dtype float32, the new value has dtype "
                       r"int32. Cast it"):  # fmt: skip
        model.apply(params, jnp.zeros(2, jnp.int32), mutable=True)
    _, p = model.apply(params, 3.0 * jnp.ones(2), mutable=True)
    np.testing.assert_array_equal(p["v"], [3.0, 3.0])
    with pytest.raises(KeyError, match=r"assign: variable w has not been created or used in "
                       r"this call \(no similar name among its 1 variables\). Call get_variable "
                       r"first"):  # fmt: skip
        model.apply(params, jnp.zeros(2), "w", mutable=True)
    with pytest.raises(TypeError, match=r"assign expects a variable: the value get_variable "
                       r"returned, or the variable's name; got ArrayImpl"):  # fmt: skip
        sj.transform(lambda: sj.assign(jnp.zeros(2), 1.0)).init(KEY)
    with pytest.raises(RuntimeError, match=r"scopejax.assign was called outside"):
        sj.assign("v", 1.0)


def test_assign_moving_average_matches_tf_formula_and_refuses_zero_debias():
    def f(x):
        v = sj.get_variable("v", [], initializer=sj.constant_initializer(10.0), trainable=False)
        return sj.assign_moving_average(v, x, 0.99)

    out = sj.transform(f).init_with_output(None, 2.0)[0]
    assert float(out) == pytest.approx(10.0 - (10.0 - 2.0) * (1 - 0.99))
    with pytest.raises(ValueError, match=r"zero_debias=True\) is not supported"):
        sj.transform(lambda: sj.assign_moving_average(
            sj.get_variable("v", [], trainable=False), 1.0, 0.9, zero_debias=True)).init(KEY)


def test_assign_sub_and_trainable_variables_under_mutable_true():
    def f():
        w = sj.get_variable("w", [], initializer=sj.constant_initializer(1.0))
        return sj.assign_sub(w, 0.25)

    model = sj.transform(f)
    out, params = model.apply(model.init(None), mutable=True)
    assert float(out) == 0.75 and float(params["w"]) == 0.75


def test_plain_jax_transform_assigning_eagerly_is_refused():
    def f(xs):
        n = sj.get_variable("n", [], trainable=False, initializer=sj.zeros_initializer())

        def body(c, x):
            sj.assign_add(n, x)
            return c, None
        jax.lax.scan(body, 0.0, xs)

    model = sj.transform(f)
    with pytest.raises(sj.TransformLeakError, match="Variable n was assigned inside a JAX"):
        model.init(None, jnp.ones(3))
    params = sj.transform(lambda xs: sj.get_variable(
        "n", [], trainable=False, initializer=sj.zeros_initializer())).init(None, jnp.ones(3))
    with pytest.raises(sj.TransformLeakError, match="Variable n was assigned inside a JAX"):
        model.apply(params, jnp.ones(3), mutable=True)


def test_assignments_under_outer_grad_vmap_and_jit_are_not_mistaken_for_leaks():
    def bn(x):
        mean = sj.get_variable("moving_mean", [2], trainable=False,
                               initializer=sj.zeros_initializer())  # fmt: skip
        h = x @ sj.get_variable("w", [2, 2])
        sj.assign_moving_average(mean, h.mean(0), 0.9)
        return h.sum()

    net = sj.transform(bn)
    x = jnp.ones((4, 2))
    params = net.init(jax.random.key(0), x)
    trainable, rest = params.split()
    grads = jax.grad(lambda t: net.apply(t.merge(rest), x, mutable=True)[0])(trainable)
    assert grads.names() == ("w",)
    out, _ = jax.jit(jax.vmap(lambda xb: net.apply(params, xb, mutable=True)))(jnp.ones((3, 4, 2)))
    assert out.shape == (3,)


def test_assign_by_value_under_a_mesh():
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("x",))

    def f(x):
        mean = sj.get_variable("moving_mean", [2], trainable=False,
                               initializer=sj.zeros_initializer())  # fmt: skip
        return sj.assign_moving_average(mean, x.mean(0), 0.5)

    out = sj.transform(f, mesh=mesh).init_with_output(None, jnp.ones((4, 2)))[0]
    np.testing.assert_allclose(out, [0.5, 0.5])
