"""Collections and regularisation losses inside a call; get_local_variable; constraints."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import scopejax as sj
from scopejax import GraphKeys

KEY = jax.random.key(0)
ONES = sj.ones_initializer()


def _model(x):
    with sj.variable_scope("enc", regularizer=sj.l2_regularizer(0.5)):
        w = sj.get_variable("w", [2], initializer=ONES)
        sj.get_variable("n", [], initializer=ONES, trainable=False)
        with sj.variable_scope("off", regularizer=sj.no_regularizer):
            sj.get_variable("u", [2], initializer=ONES)
        with sj.variable_scope(sj.get_variable_scope(), reuse=True):
            sj.get_variable("w", [2])  # reuse adds no second loss
    with sj.variable_scope("enc_1"):
        v = sj.get_variable("v", [3], initializer=ONES, regularizer=sj.l1_regularizer(0.1))
    sj.add_to_collection("extras", x)
    return {
        "loss": (x * w).sum() + v.sum() + sj.get_regularization_loss(),
        "global": len(sj.get_collection(GraphKeys.GLOBAL_VARIABLES)),
        "trainable": len(sj.get_collection(GraphKeys.TRAINABLE_VARIABLES)),
        "enc_prefix": len(sj.get_collection(GraphKeys.GLOBAL_VARIABLES, scope="enc")),
        "enc_scope": len(sj.get_collection(GraphKeys.GLOBAL_VARIABLES, scope="enc/")),
        "losses": sj.get_regularization_losses(),
        "enc_losses": sj.get_regularization_losses("enc/"),
        "extras": sj.get_collection("extras"),
        "extras_root": sj.get_collection("extras", scope="extras"),
    }


MODEL = sj.transform(_model)
X = jnp.array([1.0, 2.0])


@pytest.mark.parametrize("mode", ["init", "apply", "jit"])
def test_collections_and_losses_in_every_mode(mode):
    params = MODEL.init(KEY, X)
    if mode == "init":
        out = MODEL.init_with_output(KEY, X)[0]
    else:
        out = (jax.jit(MODEL.apply) if mode == "jit" else MODEL.apply)(params, X)
    assert (out["global"], out["trainable"], out["enc_prefix"], out["enc_scope"]) == (4, 3, 4, 3)
    # enc/w, enc/n (non-trainable variables are regularised too, as in TF), enc_1/v
    np.testing.assert_allclose(out["losses"], [0.5 * 2 / 2, 0.5 * 1 / 2, 0.1 * 3])
    np.testing.assert_allclose(out["enc_losses"], [0.5, 0.25])
    np.testing.assert_array_equal(out["extras"][0], X)
    assert len(out["extras_root"]) == 1  # root-level additions are named "extras:0"


def test_regularization_loss_is_differentiable():
    params = MODEL.init(KEY, X)
    grads = jax.grad(lambda p: MODEL.apply(p, X)["loss"])(params)
    np.testing.assert_allclose(grads["enc/w"], X + 0.5 * params["enc/w"])
    np.testing.assert_allclose(grads["enc_1/v"], 1.0 + 0.1 * jnp.ones(3))
    np.testing.assert_array_equal(grads["enc/off/u"], [0.0, 0.0])


def test_no_losses_gives_a_float32_zero_and_bad_keys_are_refused():
    out = sj.transform(lambda: sj.get_regularization_loss()).init_with_output(None)[0]
    assert out.dtype == jnp.float32 and float(out) == 0.0
    with pytest.raises(TypeError, match=r"get_collection: collection keys are strings"):
        sj.transform(lambda: sj.get_collection(3)).init(None)
    with pytest.raises(TypeError, match=r"scope must be a regex string or None, got 3"):
        sj.transform(lambda: sj.get_collection("variables", scope=3)).init(None)
    with pytest.raises(RuntimeError, match=r"scopejax.get_collection was called outside"):
        sj.get_collection("variables")


def test_store_answers_collections_by_name():
    params = MODEL.init(KEY, X)
    assert params.collection(GraphKeys.TRAINABLE_VARIABLES) == ("enc/off/u", "enc/w", "enc_1/v")
    assert params.info("enc/w").regularizer == sj.l2_regularizer(0.5)


def test_get_local_variable_forces_non_trainable_local():
    def f():
        sj.get_local_variable("c", [], initializer=ONES, trainable=True, collections=["mine"])
        return len(sj.get_collection(GraphKeys.LOCAL_VARIABLES))

    out, params = sj.transform(f).init_with_output(None)
    assert out == 1
    info = params.info("c")
    assert not info.trainable and info.collections == ("mine", "local_variables")


def test_constraints_project_a_store_after_an_optax_step():
    def f():
        w = sj.get_variable("w", [2], initializer=ONES, constraint=lambda v: jnp.clip(v, 0, 1))
        b = sj.get_variable("b", [2], initializer=ONES)
        return (w + b).sum()

    model = sj.transform(f)
    params = model.init(None)
    opt = optax.sgd(-10.0)  # ascend: w and b grow past the constraint
    trainable, rest = params.split()
    grads = jax.grad(model.apply)(trainable.merge(rest))
    updates, _ = opt.update(grads, opt.init(params))
    stepped = jax.jit(lambda p: optax.apply_updates(p, updates).apply_constraints())(params)
    np.testing.assert_array_equal(stepped["w"], [1.0, 1.0])
    np.testing.assert_array_equal(stepped["b"], [11.0, 11.0])
    # Functions take no part in the tree structure: a fresh lambda does not change the treedef.
    assert jax.tree.structure(model.init(None)) == jax.tree.structure(params)


def test_constraint_changing_the_shape_is_refused():
    params = sj.transform(lambda: sj.get_variable(
        "w", [2], initializer=ONES, constraint=lambda v: v[:1])).init(None)  # fmt: skip
    with pytest.raises(ValueError, match=r"apply_constraints \(constraint of w\): variable 'w' "
                       r"expected shape=\(2,\), found shape=\(1,\)"):  # fmt: skip
        params.apply_constraints()


def test_add_to_collection_inside_a_lifted_body_is_refused():
    def f(xs):
        def body(c, x):
            sj.add_to_collection("per_step", x)
            return c, x
        return sj.scan(body, 0.0, xs)

    with pytest.raises(sj.TransformLeakError, match=r"add_to_collection\('per_step'\) was called "
                       r"inside a scopejax.scan"):  # fmt: skip
        sj.transform(f).init(None, jnp.ones(3))
