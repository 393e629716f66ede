"""transform(fn) -> init/apply: purity under JAX transformations, determinism, apply checks."""

import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj
from scopejax import get_variable, variable_scope

KEY = jax.random.key(0)


def mlp(x, sizes=(4, 3)):
    for i, n in enumerate(sizes):
        with variable_scope(f"layer{i}"):
            w = get_variable("w", [x.shape[-1], n])
            b = get_variable("b", [n], initializer=sj.zeros_initializer())
            x = jnp.tanh(x @ w + b[None, :])
    return x


MODEL = sj.transform(mlp)
X = jnp.ones((2, 5))


def test_init_and_apply():
    params = MODEL.init(KEY, X)
    assert params.names() == ("layer0/b", "layer0/w", "layer1/b", "layer1/w")
    out = MODEL.apply(params, X)
    assert out.shape == (2, 3)
    out2, params2 = MODEL.init_with_output(KEY, X)
    chex.assert_trees_all_close(out, out2)
    chex.assert_trees_all_equal(params, params2)


def test_jit_of_init_and_apply_match_eager():
    params = MODEL.init(KEY, X)
    jparams = jax.jit(MODEL.init)(KEY, X)
    chex.assert_trees_all_close(params, jparams, rtol=1e-6)
    chex.assert_trees_all_close(jax.jit(MODEL.apply)(params, X), MODEL.apply(params, X), rtol=1e-6)


def test_raw_uint32_keys_work_too():
    params = MODEL.init(jax.random.PRNGKey(0), X)
    assert params["layer0/w"].shape == (5, 4)


def test_vmap_init_over_keys_gives_an_ensemble():
    keys = jax.random.split(KEY, 3)
    ens = jax.vmap(lambda k: MODEL.init(k, X))(keys)
    assert ens["layer0/w"].shape == (3, 5, 4)
    assert ens["layer0/b"].shape == (3, 4)
    single = MODEL.init(keys[1], X)
    np.testing.assert_allclose(ens["layer0/w"][1], single["layer0/w"], rtol=1e-6)
    outs = jax.vmap(MODEL.apply, in_axes=(0, None))(ens, X)
    assert outs.shape == (3, 2, 3)


def test_eval_shape_of_init_is_abstract():
    abstract = jax.eval_shape(MODEL.init, KEY, X)
    assert isinstance(abstract, sj.ParamStore)
    assert abstract["layer1/w"] == jax.ShapeDtypeStruct((4, 3), jnp.float32)
    assert abstract.info("layer1/w") == MODEL.init(KEY, X).info("layer1/w")


def test_grad_of_apply():
    params = MODEL.init(KEY, X)
    grads = jax.grad(lambda p: MODEL.apply(p, X).sum())(params)
    assert isinstance(grads, sj.ParamStore) and grads.names() == params.names()
    eps = 1e-3
    bumped = params.replace({"layer1/b": params["layer1/b"] + jnp.array([eps, 0, 0])})
    numeric = (MODEL.apply(bumped, X).sum() - MODEL.apply(params, X).sum()) / eps
    np.testing.assert_allclose(grads["layer1/b"][0], numeric, rtol=2e-2)


def test_jitted_apply_does_not_retrace_when_values_change():
    traces = []

    def f(x):
        traces.append(1)
        return mlp(x)

    model = sj.transform(f)
    params = model.init(KEY, X)
    other = model.init(jax.random.key(7), X)
    traces.clear()
    apply = jax.jit(model.apply)
    apply(params, X)
    apply(jax.tree.map(lambda v: v + 1, params), X)
    apply(other, X)
    assert len(traces) == 1
    apply(params, jnp.ones((3, 5)))  # new input shape: retrace
    assert len(traces) == 2


def test_values_are_deterministic_and_independent_of_creation_order():
    def forward():
        get_variable("a", [3])
        with variable_scope("s"):
            get_variable("b", [3])

    def backward():
        with variable_scope("s"):
            get_variable("b", [3])
        get_variable("extra", [7])
        get_variable("a", [3])

    p1 = sj.transform(forward).init(KEY)
    p2 = sj.transform(backward).init(KEY)
    for name in ("a", "s/b"):
        np.testing.assert_array_equal(p1[name], p2[name])
    assert not np.array_equal(p1["a"], p1["s/b"])
    p3 = sj.transform(forward).init(jax.random.key(1))
    assert not np.array_equal(p1["a"], p3["a"])


def test_values_are_identical_across_processes():
    code = (
        "import jax, numpy as np, scopejax as sj\n"
        "f = lambda: sj.get_variable('enc/w', [2, 3])\n"
        "print(np.asarray(sj.transform(f).init(jax.random.key(42))['enc/w']).tobytes().hex())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120, env={"PYTHONHASHSEED": "123", "PATH": ""})  # fmt: skip
    here = sj.transform(lambda: get_variable("enc/w", [2, 3])).init(jax.random.key(42))["enc/w"]
    assert out.stdout.strip() == np.asarray(here).tobytes().hex()


def test_pure_api_matches_init():
    store = sj.ParamStore()
    _, store = sj.pure.get_variable(store, sj.Scope.root().child("layer0"), "w", [5, 4], key=KEY)
    np.testing.assert_array_equal(store["layer0/w"], MODEL.init(KEY, X)["layer0/w"])


def test_apply_with_a_missing_variable_names_the_closest():
    params = MODEL.init(KEY, X)
    renamed = sj.ParamStore.from_flat_dict(
        {n.replace("layer0", "layer_0"): v for n, v in params.items()})
    with pytest.raises(sj.VariableNotFoundError, match=r"Variable layer0/w is not in the params "
                       r"given to apply \(closest existing names: 'layer_0/w'"):
        MODEL.apply(renamed, X)


def test_apply_with_wrong_shape_or_dtype():
    params = MODEL.init(KEY, X)
    bad = sj.ParamStore.from_flat_dict({**params.to_flat_dict(), "layer0/w": jnp.ones((5, 5))})
    with pytest.raises(sj.ShapeMismatchError, match=r"Variable layer0/w has shape \(5, 5\) in the "
                       r"params given to apply, but the function asks for shape \(5, 4\)"):
        MODEL.apply(bad, X)
    half = jax.tree.map(lambda v: v.astype(jnp.float16), params)
    with pytest.raises(sj.DtypeMismatchError, match=r"Variable layer0/w has dtype float16 in the "
                       r"params given to apply, but the function asks for dtype float32"):
        MODEL.apply(half, X)


def test_apply_rejects_a_plain_dict():
    params = MODEL.init(KEY, X)
    with pytest.raises(TypeError, match=r"expected a scopejax.ParamStore, got dict"):
        MODEL.apply(params.to_flat_dict(), X)


def test_init_rejects_bad_rngs():
    with pytest.raises(TypeError, match=r"\(rng\) got the integer 0; pass a PRNG key"):
        MODEL.init(0, X)
    with pytest.raises(TypeError, match=r"\(rng\) must be a PRNG key"):
        MODEL.init(jnp.ones(3), X)


def test_transform_rejects_non_callables():
    with pytest.raises(TypeError, match="transform expects a function"):
        sj.transform(3)


def test_root_scope_defaults():
    model = sj.transform(lambda: get_variable("v", [2]), root=sj.Scope.root(dtype=jnp.float16))
    assert model.init(KEY)["v"].dtype == jnp.float16


def test_reuse_errors_are_the_same_in_init_and_apply():
    def f():
        get_variable("v", [1])
        get_variable("v", [1])
    model = sj.transform(f)
    with pytest.raises(sj.VariableExistsError, match="already exists"):
        model.init(KEY)
    with pytest.raises(sj.VariableExistsError, match="already exists"):
        model.apply(sj.ParamStore.from_flat_dict({"v": jnp.ones(1)}))


def test_pure_functions_keep_their_own_signature_for_jit():
    def f(x, scale):
        return x * scale * sj.get_variable("v", [], initializer=sj.ones_initializer())

    model = sj.transform(f)
    params = model.init(None, 1.0, 2)
    assert model.apply.__name__ == "f"
    assert float(jax.jit(model.apply, static_argnums=2)(params, 1.0, 3)) == 3.0
