"""scopejax.interop: Flax variables and Haiku params round trips (real flax and haiku models), the
collection mapping, errors, and the optax masking recipe."""

import importlib.util
import pathlib

import flax.core
import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import scopejax as sj
from scopejax import interop
from scopejax._src.summary import summary
from scopejax._src.varinfo import VarInfo

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (6, 5))
GK = sj.GraphKeys
STATS = dict(trainable=False, collections=[GK.GLOBAL_VARIABLES, GK.MOVING_AVERAGE_VARIABLES])


def load_example(name):
    path = pathlib.Path(__file__).parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"interop_test_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_same_store(a, b, exact=True):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for name in a.names():
        if exact:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        else:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def assert_trees_bitwise_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------- flax and its twin


class FlaxNet(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
        return nn.Dense(2)(nn.relu(x))


def sj_flax_twin(x, train=False):
    """FlaxNet written TF1-style: the same variable names, so the two share parameters."""

    def dense(x, units, name):
        with sj.variable_scope(name):
            kernel = sj.get_variable("kernel", [x.shape[-1], units])
            bias = sj.get_variable("bias", [units], initializer=sj.zeros_initializer())
        return x @ kernel + bias[None, :]

    x = dense(x, 4, "Dense_0")
    with sj.variable_scope("BatchNorm_0"):
        units = [x.shape[-1]]
        scale = sj.get_variable("scale", units, initializer=sj.ones_initializer())
        bias = sj.get_variable("bias", units, initializer=sj.zeros_initializer())
        mean = sj.get_variable("mean", units, initializer=sj.zeros_initializer(), **STATS)
        var = sj.get_variable("var", units, initializer=sj.ones_initializer(), **STATS)
    if train:
        m, v = x.mean(0), x.var(0)
        sj.assign_moving_average(mean, m, 0.9)
        sj.assign_moving_average(var, v, 0.9)
    else:
        m, v = mean, var
    x = (x - m[None, :]) * (jax.lax.rsqrt(v + 1e-5) * scale)[None, :] + bias[None, :]
    return dense(jax.nn.relu(x), 2, "Dense_1")


@pytest.fixture(scope="module")
def flax_variables():
    return FlaxNet().init(KEY, X)


@pytest.fixture(scope="module")
def twin_params():
    """The scopejax twin's store (values are never mutated: stores and arrays are immutable)."""
    return sj.transform(sj_flax_twin).init(KEY, X)


def test_flax_variables_round_trip_bitwise_through_a_store(flax_variables):
    variables = flax_variables
    store = interop.from_flax_variables(variables)
    assert store.names() == (
        "BatchNorm_0/bias", "BatchNorm_0/mean", "BatchNorm_0/scale", "BatchNorm_0/var",
        "Dense_0/bias", "Dense_0/kernel", "Dense_1/bias", "Dense_1/kernel")  # fmt: skip
    assert store.filter(trainable=False).names() == ("BatchNorm_0/mean", "BatchNorm_0/var")
    assert store.collection(GK.MOVING_AVERAGE_VARIABLES) == ("BatchNorm_0/mean",
                                                             "BatchNorm_0/var")  # fmt: skip
    back = interop.to_flax_variables(store)
    assert_trees_bitwise_equal(back, variables)
    # FrozenDict input (older Flax) converts the same way.
    assert_same_store(interop.from_flax_variables(flax.core.freeze(variables)), store)
    np.testing.assert_array_equal(FlaxNet().apply(back, X), FlaxNet().apply(variables, X))


def test_flax_model_runs_on_params_of_the_scopejax_twin(flax_variables, twin_params):
    model = sj.transform(sj_flax_twin)
    params = twin_params
    variables = interop.to_flax_variables(params)
    assert set(variables) == {"params", "batch_stats"}
    assert jax.tree.structure(variables) == jax.tree.structure(flax_variables)
    np.testing.assert_allclose(FlaxNet().apply(variables, X), model.apply(params, X),
                               rtol=1e-6, atol=1e-6)  # fmt: skip

    # Training mode: Flax's batch_stats update is TF1's assign_moving_average.
    out, updated = model.apply(params, X, True, mutable=True)
    flax_out, flax_stats = FlaxNet().apply(variables, X, True, mutable=["batch_stats"])
    np.testing.assert_allclose(flax_out, out, rtol=1e-5, atol=1e-5)
    flax_updated = interop.from_flax_variables({**variables, **flax_stats}, like=params)
    assert_same_store(flax_updated, updated, exact=False)


def test_scopejax_runs_flax_initialised_params(flax_variables, twin_params):
    variables = flax_variables
    model = sj.transform(sj_flax_twin)
    params = interop.from_flax_variables(variables)
    assert jax.tree.structure(params) == jax.tree.structure(twin_params)
    np.testing.assert_allclose(model.apply(params, X), FlaxNet().apply(variables, X),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_flax_abstract_variables_make_an_abstract_store_for_summary(flax_variables):
    abstract = jax.eval_shape(FlaxNet().init, KEY, X)
    store = interop.from_flax_variables(abstract)
    assert all(isinstance(v, jax.ShapeDtypeStruct) for v in jax.tree.leaves(store))
    s = summary(store)
    assert s.totals.params == sum(x.size for x in jax.tree.leaves(flax_variables))
    assert s.totals.params - s.totals.trainable_params == 8  # mean and var


# ------------------------------------------------------------------------ store -> flax -> store


def test_example_model_store_round_trips_through_flax_with_its_treedef():
    """The README's batch-norm classifier: names, values, dtypes, shapes, trainability and
    collections all survive, so even the tree structure (VarInfos) comes back equal."""
    classifier = load_example("tf1_batchnorm_dropout").classifier
    params = jax.jit(sj.transform(classifier).init, static_argnums=2)(KEY, jnp.ones((4, 2)), True)
    variables = interop.to_flax_variables(params)
    assert set(variables) == {"params", "batch_stats"}
    assert set(jax.tree.leaves(jax.tree.map(jnp.shape, variables["batch_stats"]))) == {64}
    back = interop.from_flax_variables(variables)
    assert jax.tree.structure(back) == jax.tree.structure(params)
    assert_same_store(back, params)


def test_non_trainable_collections_map_to_flax_collections_and_back():
    def f():
        sj.get_variable("w", [2])
        sj.get_variable("bn/mean", [2], **STATS)
        sj.get_variable("global_step", [], jnp.int32, trainable=False,
                        collections=[GK.GLOBAL_VARIABLES])  # fmt: skip
        sj.get_local_variable("metric/count", [], jnp.int32)
        sj.get_variable("ema/w", [2], trainable=False,
                        collections=[GK.GLOBAL_VARIABLES, "ema"])  # fmt: skip
        return 0

    params = sj.transform(f).init(KEY)
    variables = interop.to_flax_variables(params)
    assert jax.tree.map(jnp.shape, variables) == {
        "params": {"w": (2,)}, "batch_stats": {"bn": {"mean": (2,)}},
        "state": {"global_step": ()}, "local_variables": {"metric": {"count": ()}},
        "ema": {"ema": {"w": (2,)}}}  # fmt: skip
    back = interop.from_flax_variables(variables)
    assert back.infos() == params.infos()
    assert_same_store(back, params)


@pytest.mark.parametrize("trainable, collections, flax, lossless", [
    (True, ("variables", "trainable_variables"), "params", True),
    (True, ("variables", "trainable_variables", "model_variables"), "params", False),
    (False, ("variables", "moving_average_variables"), "batch_stats", True),
    (False, ("variables", "moving_average_variables", "model_variables"), "batch_stats", False),
    (False, ("variables",), "state", True),
    (False, ("local_variables",), "local_variables", True),
    (False, ("variables", "cache"), "cache", True),
    (False, ("variables", "a", "b"), "state", False),
    (False, ("variables", "params"), "state", False),  # never mistaken for trainable
    (False, (), "state", False),
])  # fmt: skip
def test_flax_collection_rule_and_its_inverse(trainable, collections, flax, lossless):
    info = VarInfo((2,), jnp.float32, trainable, collections)
    assert interop.flax_collection("v", info) == flax
    back_trainable, back_collections = interop.tf_collections(flax)
    assert back_trainable == trainable
    assert (back_collections == collections) == lossless


def test_custom_collection_rule():
    store = sj.ParamStore.from_flat_dict({"a/w": jnp.ones(2), "b/w": jnp.zeros(2)})
    variables = interop.to_flax_variables(store, collection=lambda n, i: n.split("/")[0])
    assert jax.tree.map(jnp.shape, variables) == {"a": {"a": {"w": (2,)}}, "b": {"b": {"w": (2,)}}}


def test_partitioned_store_exports_logical_values_and_like_restores_the_padding():
    mesh = jax.make_mesh((8,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))

    def lm(ids):
        with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(8)):
            emb = sj.get_variable("embedding", [13, 4])
        return emb[ids]

    params = sj.transform(lm, mesh=mesh).init(KEY, jnp.zeros(3, jnp.int32))
    assert params.info("lm/embedding").physical_shape == (16, 4)
    variables = interop.to_flax_variables(params)
    assert variables["params"]["lm"]["embedding"].shape == (13, 4)
    plain = interop.from_flax_variables(variables)  # layout lost: a plain (13, 4) variable
    assert plain.info("lm/embedding").partition is None
    np.testing.assert_array_equal(plain["lm/embedding"], params["lm/embedding"])
    restored = interop.from_flax_variables(variables, like=params)
    assert jax.tree.structure(restored) == jax.tree.structure(params)
    assert_trees_bitwise_equal(restored, params)  # the padding rows are zeros again


# ---------------------------------------------------------------------------- haiku and its twin


def hk_mlp(x):
    x = jax.nn.relu(hk.Linear(4)(x))
    scale = hk.get_parameter("scale", [], init=jnp.ones)  # outside any module: Haiku's "~"
    return hk.Linear(2)(x) * scale


def sj_haiku_twin(x):
    def linear(x, units):
        with sj.variable_scope(None, default_name="linear"):
            w = sj.get_variable("w", [x.shape[-1], units])
            b = sj.get_variable("b", [units], initializer=sj.zeros_initializer())
        return x @ w + b[None, :]

    x = jax.nn.relu(linear(x, 4))
    scale = sj.get_variable("scale", [], initializer=sj.ones_initializer())
    return linear(x, 2) * scale


def test_haiku_params_round_trip_bitwise_and_run_the_scopejax_twin():
    net = hk.without_apply_rng(hk.transform(hk_mlp))
    hk_params = net.init(KEY, X)
    store = interop.from_haiku_params(hk_params)
    assert store.names() == ("linear/b", "linear/w", "linear_1/b", "linear_1/w", "scale")
    assert_trees_bitwise_equal(interop.to_haiku_params(store), hk_params)
    assert interop.to_haiku_state(store) == {}
    model = sj.transform(sj_haiku_twin)
    assert jax.tree.structure(store) == jax.tree.structure(model.init(KEY, X))
    np.testing.assert_allclose(model.apply(store, X), net.apply(hk_params, X),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_haiku_model_runs_on_params_of_the_scopejax_twin():
    model = sj.transform(sj_haiku_twin)
    params = model.init(KEY, X)
    net = hk.without_apply_rng(hk.transform(hk_mlp))
    hk_params = interop.to_haiku_params(params)
    assert jax.tree.structure(hk_params) == jax.tree.structure(net.init(KEY, X))
    np.testing.assert_allclose(net.apply(hk_params, X), model.apply(params, X),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_haiku_state_round_trips_as_non_trainable_variables():
    def f(x, training):
        x = hk.Linear(4)(x)
        return hk.BatchNorm(True, True, 0.9)(x, is_training=training)

    net = hk.without_apply_rng(hk.transform_with_state(f))
    hk_params, hk_state = net.init(KEY, X, True)
    store = interop.from_haiku_params(hk_params, hk_state)
    assert store.filter(trainable=False).names() == (
        "batch_norm/~/mean_ema/average", "batch_norm/~/mean_ema/counter",
        "batch_norm/~/mean_ema/hidden", "batch_norm/~/var_ema/average",
        "batch_norm/~/var_ema/counter", "batch_norm/~/var_ema/hidden")  # fmt: skip
    assert store.info("batch_norm/~/mean_ema/counter").dtype == jnp.int32
    params, state = interop.to_haiku_params(store), interop.to_haiku_state(store)
    assert_trees_bitwise_equal((params, state), (hk_params, hk_state))
    _, new_state = net.apply(params, state, X, True)
    updated = interop.from_haiku_params(params, new_state, like=store)
    assert jax.tree.structure(updated) == jax.tree.structure(store)
    assert int(updated["batch_norm/~/var_ema/counter"]) == 1


# --------------------------------------------------------------------------------------- errors


class _Boxed:
    """Stands in for flax.linen.Partitioned: a metadata box with unbox()."""

    def unbox(self):
        return jnp.ones(2)


@pytest.mark.parametrize("call, error, message", [
    (lambda: interop.from_flax_variables([1]), interop.InteropTypeError,
     "from_flax_variables: expected Flax variables, a mapping from collection names ('params', "
     "'batch_stats', ...) to nested dicts, got list."),
    (lambda: interop.from_flax_variables({"params": jnp.ones(2)}), interop.InteropTypeError,
     "from_flax_variables: collection 'params' must map to a nested dict of arrays, got "
     "ArrayImpl. Pass the whole variables dict, e.g. {'params': params}, not the params alone."),
    (lambda: interop.from_flax_variables({"params": {"d": {"kernel": _Boxed()}}}),
     interop.InteropTypeError,
     "from_flax_variables: collection 'params', d/'kernel': expected an array, got _Boxed. It "
     "looks like a Flax metadata box (nn.Partitioned / LogicallyPartitioned): unbox first with "
     "flax.linen.meta.unbox(variables)."),
    (lambda: interop.from_flax_variables({"params": {"bn": {"m": jnp.ones(1)}},
                                          "batch_stats": {"bn": {"m": jnp.ones(1)}}}),
     interop.InteropStructureError,
     "from_flax_variables: variable 'bn/m' is in both collections 'params' and 'batch_stats'; a "
     "ParamStore holds one value per name. Rename one, or convert the collections separately."),
    (lambda: interop.from_flax_variables({"params": {"a/b": jnp.ones(1)}}),
     interop.InteropStructureError,
     "from_flax_variables: collection 'params': key 'a/b' is not a single name component (keys "
     "are str without '/': the store joins them with '/')."),
    (lambda: interop.from_flax_variables({"params": {"a": {"b": {1: jnp.ones(1)}}}}),
     interop.InteropStructureError,
     "from_flax_variables: collection 'params': key 1 under 'a/b' is not a single name component "
     "(keys are str without '/': the store joins them with '/')."),
    (lambda: interop.from_haiku_params({"linear": {"w/x": jnp.ones(1)}}),
     interop.InteropStructureError,
     "from_haiku_params: params: parameter name 'w/x' of module 'linear' is not a single name "
     "component (Haiku leaf names contain no '/'); move the prefix into the module name."),
    (lambda: interop.from_haiku_params({"linear": jnp.ones(1)}), interop.InteropTypeError,
     "from_haiku_params: params: expected Haiku's two-level dict {'module/path': {'w': array}}; "
     "entry 'linear' maps to ArrayImpl, not a dict of arrays."),
    (lambda: interop.from_haiku_params({"m": {"w": jnp.ones(1)}}, {"m": {"w": jnp.ones(1)}}),
     interop.InteropStructureError,
     "from_haiku_params: variable 'm/w' is in both params and state; a ParamStore holds one "
     "value per name. Drop it from one of them."),
    (lambda: interop.to_haiku_params(sj.ParamStore.from_flat_dict({"~/w": jnp.ones(1)})),
     interop.InteropStructureError,
     "to_haiku_params: variable '~/w' would be in Haiku module '~', which is where root "
     "variables ('w') go, so it would not convert back. Rename its scope."),
    (lambda: interop.from_haiku_params({"m": {"w": jnp.ones(1)}},
                                       like=sj.ParamStore.from_flat_dict({"m/v": jnp.ones(1)})),
     interop.InteropStructureError,
     "from_haiku_params: the converted names do not match like=: missing ['m/v'], unexpected "
     "['m/w'] (1 missing, 1 unexpected). Pass the store these variables were exported from, or "
     "drop like=."),
    (lambda: interop.to_flax_variables(sj.ParamStore.from_flat_dict({"w": jnp.ones(1)}),
                                       collection=lambda n, i: None),
     interop.InteropTypeError,
     "to_flax_variables: the collection rule returned None for variable 'w'; it must return a "
     "non-empty collection name (str) such as 'params'."),
    (lambda: interop.to_flax_variables({"w": jnp.ones(1)}), sj.StoreTypeError,
     "to_flax_variables: expected a scopejax.ParamStore, got dict; convert with "
     "ParamStore.from_flat_dict(d)"),
])  # fmt: skip
def test_error_messages(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, sj.ScopeJaxError)


def test_error_classes_inherit_builtins():
    assert issubclass(interop.InteropTypeError, TypeError)
    assert issubclass(interop.InteropStructureError, ValueError)
    assert interop.InteropTypeError.__module__ == "scopejax.interop"
    assert sorted(interop.__all__) == interop.__all__
    assert all(hasattr(interop, name) for name in interop.__all__)


# ---------------------------------------------------------------------------------------- optax


def test_optax_multi_transform_recipe_keeps_non_trainables_unchanged(twin_params):
    params = twin_params
    labels = jax.tree.map(lambda t: "train" if t else "freeze", interop.trainable_mask(params))
    opt = optax.multi_transform({"train": optax.adam(0.1), "freeze": optax.set_to_zero()}, labels)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        # Every variable gets a non-zero gradient, the moving averages too (they are read in
        # eval mode): the optimiser, not the gradient, must keep them fixed.
        grads = jax.grad(lambda p: jnp.sum(sj.transform(sj_flax_twin).apply(p, X) ** 2))(params)
        assert all(jnp.ndim(g) >= 0 for g in jax.tree.leaves(grads))
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, grads

    new, state, grads = step(params, state)
    new, state, _ = step(new, state)
    assert jax.tree.structure(new) == jax.tree.structure(params)
    assert float(jnp.abs(grads["BatchNorm_0/var"]).sum()) > 0
    for name in params.names():
        if params.info(name).trainable:
            assert not np.array_equal(new[name], params[name]), name
        else:
            np.testing.assert_array_equal(new[name], params[name], err_msg=name)


def test_optax_masked_alone_passes_raw_gradients_through(twin_params):
    """Why the recipe adds set_to_zero: optax.masked leaves masked-out updates as they come."""
    params = twin_params
    grads = jax.tree.map(jnp.ones_like, params)
    masked = optax.masked(optax.adam(0.1), interop.trainable_mask(params))
    updates, _ = masked.update(grads, masked.init(params), params)
    np.testing.assert_array_equal(updates["BatchNorm_0/mean"], jnp.ones(4))
    frozen = optax.chain(masked, optax.masked(optax.set_to_zero(), interop.trainable_mask(
        params, lambda name, info: not info.trainable)))
    updates, _ = frozen.update(grads, frozen.init(params), params)
    np.testing.assert_array_equal(updates["BatchNorm_0/mean"], jnp.zeros(4))
    assert float(jnp.abs(updates["Dense_0/kernel"]).min()) > 0


def test_trainable_mask_follows_a_padded_partitioned_store():
    mesh = jax.make_mesh((8,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))

    def f():
        with sj.variable_scope("p", partitioner=sj.fixed_size_partitioner(8)):
            sj.get_variable("w", [10, 2])
        sj.get_variable("n", [], trainable=False)
        return 0

    params = sj.transform(f, mesh=mesh).init(KEY)
    mask = interop.trainable_mask(params)
    assert jax.tree.structure(mask) == jax.tree.structure(params)
    assert dict(zip(params.names(), jax.tree.leaves(mask), strict=True)) == {"n": False,
                                                                             "p/w": True}
    with pytest.raises(interop.InteropTypeError, match="predicate must be a function"):
        interop.trainable_mask(params, predicate="trainable")
