"""Custom getters end to end: real getter patterns through ``transform``'s init/apply and jax.

Mixed precision, renaming, extra variables (weight norm), argument overrides, composition order
(checked against TensorFlow when it is installed), and getters under jit/vmap/grad/eval_shape.
The unit-level composition and argument checks live in test_getter.py / test_scope.py.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import scopejax as sj
from scopejax import get_variable, variable_scope

KEY = jax.random.key(0)
X = jnp.linspace(-1.0, 1.0, 12).reshape(3, 4)
F32, BF16 = np.dtype("float32"), np.dtype(jnp.bfloat16)


def mixed_precision(getter, name, *args, dtype=None, **kwargs):
    """Stores float32 master weights; hands the model the dtype it asked for."""
    value = getter(name, *args, dtype=jnp.float32, **kwargs)
    return value.astype(dtype) if np.dtype(dtype) != F32 else value


def rename_kernel(getter, name, *args, **kwargs):
    if name.endswith("/kernel"):
        name = name[: -len("kernel")] + "weights"
    return getter(name, *args, **kwargs)


def weight_norm(getter, name, *args, **kwargs):
    """w = g * v / ||v|| per output column, with the gain g stored as ``name + "_g"``."""
    v = getter(name, *args, **kwargs)
    gain_kwargs = {**kwargs, "shape": [v.shape[-1]], "initializer": sj.constant_initializer(2.0)}
    g = getter(name + "_g", **gain_kwargs)
    return g[None, :] * v / jnp.linalg.norm(v, axis=0)[None, :]


def dense(x, n, seen=None):
    with variable_scope(None, "dense"):
        w = get_variable("kernel", [x.shape[-1], n])
        b = get_variable("bias", [n], initializer=sj.zeros_initializer())
        if seen is not None:
            seen.append((w.dtype, b.dtype))
        return x @ w + b[None, :]


def mlp(x, dtype=jnp.float32, getter=None, seen=None):
    with variable_scope("mlp", custom_getter=getter, dtype=dtype):
        h = jax.nn.relu(dense(x.astype(dtype), 5, seen))
        return dense(h, 2, seen)


MLP_NAMES = ("mlp/dense/bias", "mlp/dense/kernel", "mlp/dense_1/bias", "mlp/dense_1/kernel")


def recorder(label, log):
    def getter(getter, name, *args, **kwargs):
        log.append((label, name))
        return getter(name, *args, **kwargs)

    return getter


def test_mixed_precision_getter_stores_float32_and_computes_in_bfloat16():
    seen = []
    bf16 = sj.transform(functools.partial(mlp, dtype=jnp.bfloat16, getter=mixed_precision))
    f32 = sj.transform(mlp)
    params = bf16.init(KEY, X)
    assert params.names() == MLP_NAMES
    assert {(params.info(n).dtype, params[n].dtype) for n in MLP_NAMES} == {(F32, F32)}
    # Values depend on the name only, so the float32 model starts from the same weights.
    ref = f32.init(KEY, X)
    for n in MLP_NAMES:
        np.testing.assert_array_equal(params[n], ref[n])

    out = jax.jit(functools.partial(bf16.apply, seen=seen))(params, X)
    assert out.dtype == BF16 and seen == [(BF16, BF16)] * 2  # traced once, both layers
    np.testing.assert_allclose(out.astype(jnp.float32), f32.apply(ref, X), rtol=5e-2, atol=2e-2)

    def loss(model):
        return lambda p: jnp.mean(jnp.square(model.apply(p, X).astype(jnp.float32)))

    grads = jax.jit(jax.grad(loss(bf16)))(params)
    ref_grads = jax.grad(loss(f32))(ref)
    assert isinstance(grads, sj.ParamStore) and grads.names() == MLP_NAMES
    for n in MLP_NAMES:
        assert grads[n].dtype == F32 and grads.info(n).dtype == F32
        np.testing.assert_allclose(grads[n], ref_grads[n], rtol=5e-2, atol=2e-2)

    opt = optax.sgd(0.1)
    updates, _ = opt.update(grads, opt.init(params), params)
    new = optax.apply_updates(params, updates)
    assert isinstance(new, sj.ParamStore) and new.names() == MLP_NAMES
    for n in MLP_NAMES:
        assert new[n].dtype == F32 and new.info(n) == params.info(n)
        np.testing.assert_allclose(new[n], params[n] - 0.1 * grads[n], rtol=1e-6, atol=1e-7)
    assert bf16.apply(new, X).dtype == BF16  # the updated float32 store still applies


def test_renaming_getter_names_the_store_and_apply_finds_them():
    model = sj.transform(functools.partial(mlp, getter=rename_kernel))
    out, params = model.init_with_output(KEY, X)
    assert params.names() == ("mlp/dense/bias", "mlp/dense/weights", "mlp/dense_1/bias",
                              "mlp/dense_1/weights")  # fmt: skip
    np.testing.assert_array_equal(jax.jit(model.apply)(params, X), out)
    # A store keyed by the original names does not satisfy the renamed program.
    with pytest.raises(sj.VariableNotFoundError, match=r"Variable mlp/dense/weights is not in"):
        model.apply(sj.transform(mlp).init(KEY, X), X)


def test_renamed_variable_is_reused_under_auto_reuse_and_by_its_new_name():
    def f():
        with variable_scope("s", reuse=sj.AUTO_REUSE, custom_getter=rename_kernel):
            a = get_variable("kernel", [2, 3])
            b = get_variable("kernel", [2, 3])
        with variable_scope("s", reuse=True):
            c = get_variable("weights", [2, 3])
        return a is b, b is c, a

    model = sj.transform(f)
    (same, same_by_name, a), params = model.init_with_output(KEY)
    assert params.names() == ("s/weights",) and same and same_by_name
    np.testing.assert_array_equal(a, params["s/weights"])
    assert model.apply(params)[:2] == (True, True)


def test_weight_norm_getter_creates_a_gain_once_and_normalises():
    def f(x):
        with variable_scope("wn", custom_getter=weight_norm, reuse=sj.AUTO_REUSE):
            w1 = get_variable("kernel", [4, 3])
            w2 = get_variable("kernel", [4, 3])  # reused: no second gain, same value
            return x @ w1, w2

    model = sj.transform(f)
    (y, w2), params = model.init_with_output(KEY, X)
    assert params.names() == ("wn/kernel", "wn/kernel_g")
    assert params.info("wn/kernel_g") == sj.VarInfo((3,), F32)
    np.testing.assert_array_equal(params["wn/kernel_g"], [2.0, 2.0, 2.0])
    v = np.asarray(params["wn/kernel"])
    expected = 2.0 * v / np.linalg.norm(v, axis=0)[None, :]
    np.testing.assert_allclose(w2, expected, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(w2, axis=0), [2.0, 2.0, 2.0], rtol=1e-6)
    y_apply, w2_apply = jax.jit(model.apply)(params, X)
    np.testing.assert_allclose(y_apply, y, rtol=1e-6, atol=1e-6)  # jit may reassociate
    np.testing.assert_allclose(w2_apply, w2, rtol=1e-6)
    grads = jax.grad(lambda p: model.apply(p, X)[0].sum())(params)
    assert grads.names() == params.names() and float(jnp.abs(grads["wn/kernel_g"]).sum()) > 0


GETTER_KWARGS = {
    "shape", "dtype", "initializer", "regularizer", "reuse", "trainable", "collections",
    "caching_device", "partitioner", "validate_shape", "use_resource", "constraint",
    "synchronization", "aggregation",
}  # fmt: skip


def test_getter_sees_every_argument_with_scope_defaults_resolved():
    seen = []

    def spy(getter, *args, **kwargs):
        seen.append((args, kwargs))
        return getter(*args, **kwargs)

    init, reg, part, con = sj.ones_initializer(), jnp.sum, lambda shape, dtype: [], jnp.abs
    defaults = dict(initializer=init, regularizer=reg, caching_device="/cpu:0", partitioner=part,
                    dtype=jnp.float16, use_resource=True, constraint=con)  # fmt: skip

    def f():
        with variable_scope("s", custom_getter=spy, reuse=sj.AUTO_REUSE, **defaults):
            get_variable("a", [])
            with variable_scope("t"):  # everything but the constraint is inherited
                get_variable(
                    "b", [], dtype=jnp.float32, initializer=sj.zeros_initializer(),
                    trainable=False, collections=["extra"], validate_shape=False,
                )  # fmt: skip

    params = sj.transform(f).init(KEY)
    assert params.names() == ("s/a", "s/t/b")
    (args_a, a), (args_b, b) = seen
    assert args_a == args_b == ()  # everything is passed by keyword
    assert set(a) == set(b) == GETTER_KWARGS | {"name"}
    assert a["name"] == "s/a" and b["name"] == "s/t/b"
    assert a["initializer"] is init and a["regularizer"] is reg and a["partitioner"] is part
    assert a["constraint"] is con and b["constraint"] is None
    assert a["dtype"] == np.float16 and b["dtype"] == jnp.float32
    assert a["reuse"] is b["reuse"] is sj.AUTO_REUSE
    assert a["caching_device"] == b["caching_device"] == "/cpu:0"
    assert a["use_resource"] is b["use_resource"] is True
    assert a["shape"] == b["shape"] == [] and a["validate_shape"] and not b["validate_shape"]
    assert isinstance(b["initializer"], type(sj.zeros_initializer()))
    assert a["trainable"] is True  # resolved before the getters run, as in TF
    assert b["trainable"] is False and b["collections"] == ["extra"] and a["collections"] is None
    assert b["regularizer"] is reg and b["partitioner"] is part


def test_tf_style_getter_without_constraint_parameter():
    # TF passes `constraint` only to getters that take it; synchronization/aggregation always.
    def tf_getter(getter, name, shape=None, dtype=None, initializer=None, regularizer=None,
                  reuse=None, trainable=None, collections=None, caching_device=None,
                  partitioner=None, validate_shape=True, use_resource=None,
                  synchronization=None, aggregation=None):  # fmt: skip
        return getter(name, shape=shape, dtype=dtype, initializer=initializer, reuse=reuse,
                      trainable=trainable, synchronization=synchronization,
                      aggregation=aggregation)  # fmt: skip

    params = sj.transform(lambda: get_variable("v", [2], custom_getter=tf_getter)).init(KEY)
    assert params.names() == ("v",)


def test_getter_overrides_trainable_and_initializer():
    def freeze(getter, name, *args, **kwargs):
        kwargs.update(trainable=False, initializer=sj.constant_initializer(7.0))
        return getter(name, *args, **kwargs)

    def f():
        with variable_scope("frozen", custom_getter=freeze):
            x = get_variable("w", [2], trainable=True, initializer=sj.ones_initializer())
        y = get_variable("w", [2], initializer=sj.ones_initializer())
        return x + y

    model = sj.transform(f)
    out, params = model.init_with_output(KEY)
    assert params.info("frozen/w") == sj.VarInfo((2,), F32, False, (sj.GLOBAL_VARIABLES,))
    assert params.collection(sj.TRAINABLE_VARIABLES) == ("w",)
    assert params.filter(trainable=False).names() == ("frozen/w",)
    np.testing.assert_array_equal(params["frozen/w"], [7.0, 7.0])
    np.testing.assert_array_equal(params["w"], [1.0, 1.0])
    np.testing.assert_array_equal(jax.jit(model.apply)(params), out)
    np.testing.assert_array_equal(out, [8.0, 8.0])


def composed_program(log):
    with variable_scope("a", custom_getter=recorder("A", log)) as a:
        get_variable("v", [1])
        with variable_scope("b", custom_getter=recorder("B", log)) as b:
            get_variable("v", [1])
            get_variable("g", [1], custom_getter=recorder("G", log))  # replaces B and A
    with variable_scope("z", custom_getter=recorder("Z", log)):
        with variable_scope(b, custom_getter=recorder("R", log)):  # captured b, not z's getter
            get_variable("w", [1])
            with variable_scope("c", custom_getter=recorder("C", log)):
                get_variable("u", [1])
    with variable_scope(a, reuse=True):
        return get_variable("v", [1])


COMPOSED_LOG = [
    ("A", "a/v"), ("B", "a/b/v"), ("A", "a/b/v"), ("G", "a/b/g"),
    ("R", "a/b/w"), ("B", "a/b/w"), ("A", "a/b/w"),
    ("C", "a/b/c/u"), ("R", "a/b/c/u"), ("B", "a/b/c/u"), ("A", "a/b/c/u"), ("A", "a/v"),
]  # fmt: skip


def test_composition_order_is_the_same_in_init_and_apply():
    log = []
    model = sj.transform(lambda: composed_program(log))
    v, params = model.init_with_output(KEY)
    assert log == COMPOSED_LOG
    assert params.names() == ("a/b/c/u", "a/b/g", "a/b/v", "a/b/w", "a/v")
    np.testing.assert_array_equal(v, params["a/v"])
    log.clear()
    np.testing.assert_array_equal(jax.jit(model.apply)(params), v)
    assert log == COMPOSED_LOG


def wn_mixed(x):
    with variable_scope("m", custom_getter=mixed_precision, dtype=jnp.bfloat16):
        with variable_scope("l", custom_getter=weight_norm):
            return x.astype(jnp.bfloat16) @ get_variable("kernel", [4, 3])


def test_getters_under_vmap_of_init_and_eval_shape():
    model = sj.transform(wn_mixed)
    keys = jax.random.split(KEY, 3)
    ens = jax.vmap(model.init, in_axes=(0, None))(keys, X)
    assert ens.names() == ("m/l/kernel", "m/l/kernel_g")
    assert ens["m/l/kernel"].shape == (3, 4, 3) and ens["m/l/kernel_g"].shape == (3, 3)
    assert ens["m/l/kernel"].dtype == ens["m/l/kernel_g"].dtype == F32
    single = model.init(keys[1], X)
    np.testing.assert_array_equal(ens["m/l/kernel"][1], single["m/l/kernel"])
    outs = jax.vmap(model.apply, in_axes=(0, None))(ens, X)
    assert outs.shape == (3, 3, 3) and outs.dtype == BF16
    np.testing.assert_array_equal(outs[1], model.apply(single, X))

    abstract = jax.eval_shape(model.init, KEY, X)
    assert isinstance(abstract, sj.ParamStore)
    assert abstract["m/l/kernel"] == jax.ShapeDtypeStruct((4, 3), jnp.float32)
    assert abstract["m/l/kernel_g"] == jax.ShapeDtypeStruct((3,), jnp.float32)
    assert abstract.infos() == single.infos()


def test_getter_errors():
    def f(x, getter):
        with variable_scope("s"):
            return x @ get_variable("w", [4, 2], custom_getter=getter)

    model = sj.transform(f)
    params = model.init(KEY, X, None)
    with pytest.raises(sj.CustomGetterError, match=r"custom_getter which is not callable: 3 "
                       r"\(variable s/w\)"):  # fmt: skip
        jax.jit(functools.partial(model.apply, getter=3))(params, X)

    boom = RuntimeError("boom")

    def raising(getter, name, **kwargs):
        raise boom

    with pytest.raises(RuntimeError, match="boom") as info:
        model.apply(params, X, raising)
    assert info.value is boom
    np.testing.assert_array_equal(model.apply(params, X, None), X @ params["s/w"])  # unharmed

    def misnamed(next_getter, name, **kwargs):  # the first parameter must be named `getter`
        return next_getter(name, **kwargs)

    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'next_getter'"):
        model.init(KEY, X, misnamed)


def tf_style_program(variable_scope, get_variable, log):
    """Getters at three levels (one renaming), a get-level getter and a re-entered scope."""

    def renamer(getter, name, *args, **kwargs):
        log.append(("N", name))
        return rename_kernel(getter, name, *args, **kwargs)

    with variable_scope("a", custom_getter=recorder("A", log)):
        get_variable("v", [1])
        with variable_scope("b", custom_getter=renamer):
            with variable_scope("c", custom_getter=recorder("C", log)) as c:
                get_variable("kernel", [2])
                get_variable("bias", [2], custom_getter=recorder("G", log))
    with variable_scope("z", custom_getter=recorder("Z", log)):
        with variable_scope(c, reuse=True, custom_getter=recorder("R", log)):
            get_variable("kernel", [2])  # reuses a/b/c/weights through the chain
        with variable_scope("d", custom_getter=recorder("D", log)):
            get_variable("kernel", [1])


TF_LOG = [
    ("A", "a/v"), ("C", "a/b/c/kernel"), ("N", "a/b/c/kernel"), ("A", "a/b/c/weights"),
    ("G", "a/b/c/bias"), ("R", "a/b/c/kernel"), ("C", "a/b/c/kernel"), ("N", "a/b/c/kernel"),
    ("A", "a/b/c/weights"), ("D", "z/d/kernel"), ("Z", "z/d/kernel"),
]  # fmt: skip


def test_getter_order_and_names_match_tensorflow():
    tf = pytest.importorskip("tensorflow", reason="tensorflow not installed (scopejax[tf])")
    tf1 = tf.compat.v1
    tf_log = []
    with tf.Graph().as_default():
        tf_style_program(tf1.variable_scope, tf1.get_variable, tf_log)
        tf_names = sorted(v.name.removesuffix(":0") for v in tf1.global_variables())

    log = []
    model = sj.transform(lambda: tf_style_program(variable_scope, get_variable, log))
    params = model.init(KEY)
    assert log == tf_log == TF_LOG
    assert list(params.names()) == tf_names == ["a/b/c/bias", "a/b/c/weights", "a/v",
                                                "z/d/kernel"]  # fmt: skip
    log.clear()
    model.apply(params)
    assert log == TF_LOG
