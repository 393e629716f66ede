"""Tests for scopejax._src.store.ParamStore."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scopejax._src import errors
from scopejax._src.store import ParamStore, _flatten, ensure_store
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

FROZEN = VarInfo((), jnp.int32, trainable=False, collections=(GLOBAL_VARIABLES,))


def make_store() -> ParamStore:
    return ParamStore.from_flat_dict(
        {
            "foo/bar/v": jnp.arange(6, dtype=jnp.float32).reshape(2, 3),
            "foo/b": jnp.zeros(3),
            "step": jnp.zeros((), jnp.int32),
        },
        {"step": FROZEN},
    )


def assert_same_store(a: ParamStore, b: ParamStore) -> None:
    assert a.names() == b.names()
    assert a.infos() == b.infos()
    for x, y in zip(a.values(), b.values(), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# ------------------------------------------------------------------------------ construction


def test_empty_store():
    store = ParamStore()
    assert len(store) == 0 and not store
    assert store.names() == () and store.to_flat_dict() == {} and store.to_nested_dict() == {}
    assert repr(store) == "ParamStore(0 variables)"
    assert jax.tree.leaves(store) == []


def test_mapping_methods():
    store = make_store()
    assert store.names() == store.keys() == ("foo/b", "foo/bar/v", "step")
    assert list(store) == list(store.names())
    assert len(store) == 3
    assert "foo/b" in store and "foo" not in store and 3 not in store
    assert store.get("nope") is None and store.get("nope", 7) == 7
    assert store.get("step") is store["step"]
    assert store.values() == tuple(store[n] for n in store.names())
    assert store.items() == tuple(zip(store.names(), store.values(), strict=True))
    assert store.info("foo/bar/v") == VarInfo((2, 3), jnp.float32)
    assert store.info("step") == FROZEN
    assert set(store.infos()) == set(store.names())


def test_from_flat_dict_defaults_and_conversion():
    store = ParamStore.from_flat_dict(
        {"a": 1.0, "b": np.ones((2,), np.int32), "c": jax.ShapeDtypeStruct((4,), jnp.float32)})
    assert isinstance(store["a"], jax.Array) and isinstance(store["b"], jax.Array)
    assert isinstance(store["c"], jax.ShapeDtypeStruct)
    assert store.info("b") == VarInfo((2,), np.int32, True, (GLOBAL_VARIABLES, TRAINABLE_VARIABLES))
    assert store.info("a").shape == ()


def test_from_flat_dict_keeps_given_arrays():
    x = jnp.ones(3)
    assert ParamStore.from_flat_dict({"x": x})["x"] is x


def test_repr_truncates_and_describes_abstract_values():
    store = ParamStore.from_flat_dict({f"v{i:02d}": jnp.zeros((i, 2)) for i in range(12)})
    text = repr(store)
    assert text.startswith("ParamStore(12 variables: 'v00': float32[0,2], 'v01': float32[1,2]")
    assert text.endswith("'v09': float32[9,2], ... (2 more))")
    abstract = jax.eval_shape(lambda s: s, make_store())
    assert "'foo/bar/v': float32[2,3]" in repr(abstract)
    assert repr(ParamStore.from_flat_dict({"v": 1.0})) == "ParamStore(1 variable: 'v': float32[])"


def test_odd_names_are_not_validated():
    store = ParamStore.from_flat_dict({"foo//v": 1.0, "": 2.0, "a b/c:0": 3.0})
    assert store.names() == ("", "a b/c:0", "foo//v")
    assert store[""].item() == 2.0
    round_trip = ParamStore.from_nested_dict(store.to_nested_dict(), store.infos())
    assert_same_store(round_trip, store)


def test_store_is_immutable_and_not_a_mapping():
    store = make_store()
    with pytest.raises(AttributeError, match="immutable"):
        store._values = ()
    with pytest.raises(AttributeError, match="immutable"):
        store._def.names = ()
    assert not isinstance(store, Mapping)


def test_with_variable():
    store = make_store()
    bigger = store.with_variable("foo/a", jnp.ones(2))
    assert bigger.names() == ("foo/a", "foo/b", "foo/bar/v", "step")
    assert bigger.info("foo/a") == VarInfo((2,), jnp.float32)
    assert store.names() == ("foo/b", "foo/bar/v", "step")  # Unchanged.
    frozen = store.with_variable("n", jnp.zeros((), jnp.int32), FROZEN)
    assert frozen.info("n") == FROZEN
    # The incrementally updated hash equals the one computed from scratch.
    rebuilt = ParamStore._from_parts(bigger.to_flat_dict(), bigger.infos())
    assert hash(rebuilt._def) == hash(bigger._def) and rebuilt._def == bigger._def


def test_from_parts_sorts_and_skips_validation():
    sentinel = object()
    store = ParamStore._from_parts({"z": sentinel, "a": None}, {"z": FROZEN, "a": FROZEN})
    assert store.names() == ("a", "z") and store["z"] is sentinel


def test_pickle_and_deepcopy():
    store = make_store()
    for clone in (pickle.loads(pickle.dumps(store)), copy.deepcopy(store), copy.copy(store)):
        assert isinstance(clone, ParamStore)
        assert_same_store(clone, store)
        assert jax.tree.structure(clone) == jax.tree.structure(store)
    # The cached hash must not travel: string hashes are salted per process.
    assert store._def.__reduce__()[1] == (store._def.names, store._def.infos)


# ------------------------------------------------------------------- filter / split / merge


NAMES = ["foo/v", "foo/w", "foo_/x", "foo/sub/y", "food/z", "foo", "foo-/q", "bar/foo/v", "foo//v"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("foo", ["foo//v", "foo/sub/y", "foo/v", "foo/w"]),
        ("foo/", ["foo//v", "foo/sub/y", "foo/v", "foo/w"]),
        ("foo/sub", ["foo/sub/y"]),
        ("foo//", ["foo//v"]),
        ("bar", ["bar/foo/v"]),
        ("fo", []),
        ("zzz", []),
        ("", sorted(NAMES)),
        (None, sorted(NAMES)),
    ],
)
def test_filter_prefix_has_tf_scope_semantics(prefix, expected):
    store = ParamStore.from_flat_dict({n: jnp.zeros(1) for n in NAMES})
    assert store.filter(prefix).names() == tuple(expected)


def test_filter_by_collection_trainable_and_predicate():
    store = make_store()
    assert store.filter(trainable=True).names() == ("foo/b", "foo/bar/v")
    assert store.filter(trainable=False).names() == ("step",)
    assert store.filter(collection=TRAINABLE_VARIABLES).names() == ("foo/b", "foo/bar/v")
    assert store.filter(collection=GLOBAL_VARIABLES).names() == store.names()
    assert store.filter(collection="losses").names() == ()
    assert store.filter(predicate=lambda n, i: len(i.shape) == 2).names() == ("foo/bar/v",)
    assert store.filter("foo", predicate=lambda n, i: n.endswith("b")).names() == ("foo/b",)
    kept = store.filter("foo")
    assert kept.info("foo/b") == store.info("foo/b") and kept["foo/b"] is store["foo/b"]
    assert store.filter() is store  # Nothing dropped: the same immutable store.


def test_collection():
    store = make_store().with_variable(
        "local", jnp.zeros(()), VarInfo((), jnp.float32, True, ("local_variables",
                                                                TRAINABLE_VARIABLES)))
    assert store.collection(GLOBAL_VARIABLES) == ("foo/b", "foo/bar/v", "step")
    assert store.collection(TRAINABLE_VARIABLES) == ("foo/b", "foo/bar/v", "local")
    assert store.collection("local_variables") == ("local",)
    assert store.collection("nothing") == ()


def test_split_and_merge_round_trip():
    store = make_store()
    trainable, rest = store.split()
    assert trainable.names() == ("foo/b", "foo/bar/v") and rest.names() == ("step",)
    merged = rest.merge(trainable)
    assert_same_store(merged, store)
    assert jax.tree.structure(merged) == jax.tree.structure(store)
    a, b = store.split(lambda name, info: name.startswith("foo/bar"))
    assert a.names() == ("foo/bar/v",) and b.names() == ("foo/b", "step")
    assert_same_store(ParamStore.merge_all(b, ParamStore(), a), store)
    assert ParamStore.merge_all().names() == ()
    assert ParamStore.merge_all(store) is store


# ------------------------------------------------------------------------ replace / nested


def test_replace():
    store = make_store()
    new = store.replace({"foo/b": jnp.ones(3), "step": np.int32(5)})
    assert new["foo/b"].tolist() == [1.0, 1.0, 1.0] and new["step"].item() == 5
    assert new["foo/bar/v"] is store["foo/bar/v"]
    assert new._def is store._def  # Same treedef, not just an equal one.
    assert store["foo/b"].tolist() == [0.0, 0.0, 0.0]
    assert_same_store(store.replace(new), new)  # A store is accepted as the mapping.


def test_nested_round_trip():
    store = make_store()
    nested = store.to_nested_dict()
    assert set(nested) == {"foo", "step"} and set(nested["foo"]) == {"b", "bar"}
    assert nested["foo"]["bar"]["v"] is store["foo/bar/v"]
    assert_same_store(ParamStore.from_nested_dict(nested, store.infos()), store)
    assert ParamStore.from_nested_dict({"a": {}, "b": {"c": 1.0}}).names() == ("b/c",)


def test_flat_round_trip_keeps_metadata():
    store = make_store()
    assert_same_store(ParamStore.from_flat_dict(store.to_flat_dict(), store.infos()), store)


# ------------------------------------------------------------------------------------ errors


def test_missing_variable_errors():
    store = make_store()
    with pytest.raises(errors.VariableNotFoundError,
                       match=r"Variable 'foo/bar/w' does not exist.*closest.*'foo/bar/v'"):
        store["foo/bar/w"]
    with pytest.raises(KeyError):
        store["nope"]
    with pytest.raises(ValueError, match=r"'stepp' does not exist.*closest existing names: 'step'"):
        store.info("stepp")
    with pytest.raises(errors.VariableNotFoundError, match=r"'foo/c' does not exist"):
        store.replace({"foo/c": jnp.zeros(3)})
    with pytest.raises(errors.VariableNotFoundError, match=r"the store is empty"):
        ParamStore()["v"]


def test_from_flat_dict_errors():
    with pytest.raises(errors.VariableNotFoundError,
                       match=r"infos given for variable\(s\) \['v2'\] that have no value; "
                       r"closest existing names: 'v'"):
        ParamStore.from_flat_dict({"v": 1.0}, {"v2": FROZEN})
    with pytest.raises(errors.ShapeMismatchError,
                       match=r"variable 'v' expected shape=\(3,\), found shape=\(2,\)"):
        ParamStore.from_flat_dict({"v": jnp.zeros(2)}, {"v": VarInfo((3,), jnp.float32)})
    with pytest.raises(errors.DtypeMismatchError,
                       match=r"variable 'v' expected dtype=int32, found dtype=float32"):
        ParamStore.from_flat_dict({"v": jnp.zeros(())}, {"v": FROZEN})
    with pytest.raises(errors.StoreTypeError, match=r"infos\['v'\] must be a VarInfo, got dict"):
        ParamStore.from_flat_dict({"v": 1.0}, {"v": {"trainable": False}})
    with pytest.raises(errors.StoreTypeError,
                       match=r"mapping from variable names to arrays, got list"):
        ParamStore.from_flat_dict([("v", 1.0)])
    with pytest.raises(errors.StoreTypeError, match=r"names must be str, got 3"):
        ParamStore.from_flat_dict({3: 1.0})
    with pytest.raises(errors.StoreTypeError,
                       match=r"value of variable 'a' is not an array: dict \(a nested dict\? use "
                       r"ParamStore.from_nested_dict\)"):
        ParamStore.from_flat_dict({"a": {"b": 1.0}})
    with pytest.raises(errors.StoreTypeError,
                       match=r"value of variable 'v' is not an array: NoneType"):
        ParamStore.from_flat_dict({"v": None})


def test_replace_errors():
    store = make_store()
    with pytest.raises(errors.ShapeMismatchError,
                       match=r"ParamStore.replace: variable 'foo/b' expected shape=\(3,\), found "
                       r"shape=\(4,\); a variable's shape and dtype are static metadata"):
        store.replace({"foo/b": jnp.zeros(4)})
    with pytest.raises(errors.DtypeMismatchError,
                       match=r"variable 'step' expected dtype=int32, found dtype=float32"):
        store.replace({"step": jnp.zeros(())})


def test_with_variable_errors():
    store = make_store()
    with pytest.raises(errors.VariableExistsError,
                       match=r"Variable 'step' already exists, disallowed.*use replace\(\)"):
        store.with_variable("step", jnp.zeros((), jnp.int32))
    with pytest.raises(errors.ShapeMismatchError,
                       match=r"'n' expected shape=\(\), found shape=\(2,\)"):
        store.with_variable("n", jnp.zeros(2, jnp.int32), FROZEN)


def test_merge_errors():
    store = make_store()
    with pytest.raises(errors.VariableExistsError,
                       match=r"Variable 'step' already exists, disallowed: it is in more than one"):
        store.merge(store.filter(trainable=False))
    with pytest.raises(errors.StoreTypeError,
                       match=r"ParamStore.merge argument 1: expected a scopejax.ParamStore, "
                       r"got dict; convert with ParamStore.from_flat_dict\(d\)"):
        store.merge({"x": 1.0})


def test_nested_conflict_errors():
    store = ParamStore.from_flat_dict({"a": 1.0, "a/b": 2.0, "a-": 3.0})
    with pytest.raises(errors.StoreStructureError,
                       match=r"variable 'a' is also the scope of variable 'a/b'"):
        store.to_nested_dict()
    with pytest.raises(ValueError, match=r"variable 'a/b' is given twice"):
        ParamStore.from_nested_dict({"a": {"b": 1.0}, "a/b": 2.0})
    with pytest.raises(errors.StoreTypeError, match=r"keys must be str, got 1 under 'a/'"):
        ParamStore.from_nested_dict({"a": {1: 1.0}})


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"v": 1.0}, r"^params: expected a scopejax.ParamStore, got dict; convert with "
                     r"ParamStore.from_flat_dict\(d\)$"),
        ({"a": {"v": 1.0}}, r"got dict; convert with ParamStore.from_nested_dict\(d\)$"),
        ([1.0], r"^params: expected a scopejax.ParamStore, got list$"),
        (None, r"got NoneType$"),
    ],
)
def test_ensure_store_errors(obj, message):
    with pytest.raises(errors.StoreTypeError, match=message):
        ensure_store(obj, "params")
    with pytest.raises(TypeError):
        ensure_store(obj, "params")


def test_ensure_store_passes_stores_through():
    store = make_store()
    assert ensure_store(store, "params") is store


# ---------------------------------------------------------------------------------- pytree


def test_flatten_returns_the_stored_tuple():
    store = make_store()
    leaves, store_def = _flatten(store)
    assert leaves is store._values and store_def is store._def
    assert jax.tree.leaves(store) == list(store.values())


def test_flatten_unflatten_round_trip():
    store = make_store()
    leaves, treedef = jax.tree.flatten(store)
    again = jax.tree.unflatten(treedef, leaves)
    assert isinstance(again, ParamStore) and again._def is store._def
    assert all(a is b for a, b in zip(again.values(), store.values(), strict=True))
    odd = jax.tree.unflatten(treedef, [None, object(), "x"])  # No validation on unflatten.
    assert odd["step"] == "x" and "object" in repr(odd)


def test_tree_map_keeps_infos_and_treedef():
    store = make_store()
    doubled = jax.tree.map(lambda x: x * 2, store)
    assert isinstance(doubled, ParamStore)
    assert doubled._def is store._def and doubled.infos() == store.infos()
    np.testing.assert_array_equal(doubled["foo/bar/v"], 2 * store["foo/bar/v"])


def test_key_paths_print_as_names():
    store = make_store()
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(store)[0]]
    assert paths == ["['foo/b']", "['foo/bar/v']", "['step']"]
    nested = jax.tree_util.tree_flatten_with_path({"params": store})[0]
    assert jax.tree_util.keystr(nested[1][0]) == "['params']['foo/bar/v']"
    mapped = jax.tree_util.tree_map_with_path(lambda p, x: jax.tree_util.keystr(p), store)
    assert mapped["step"] == "['step']"


def test_treedef_is_independent_of_insertion_order():
    a = ParamStore.from_flat_dict({"x": 1.0, "a/b": jnp.zeros(2), "m": 2.0})
    b = ParamStore.from_flat_dict({"m": 5.0, "x": 3.0, "a/b": jnp.ones(2)})
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert hash(jax.tree.structure(a)) == hash(jax.tree.structure(b))
    c = ParamStore.from_flat_dict({"m": 5.0, "x": 3.0, "a/b": jnp.ones(3)})
    assert jax.tree.structure(a) != jax.tree.structure(c)
    d = ParamStore.from_flat_dict({"m": 5.0, "x": 3.0, "a/b": jnp.ones(2)},
                                  {"m": VarInfo((), jnp.float32, trainable=False)})
    assert jax.tree.structure(a) != jax.tree.structure(d)


def test_jit_does_not_retrace_when_only_values_change():
    traces = 0

    @jax.jit
    def f(store):
        nonlocal traces
        traces += 1
        return jax.tree.map(lambda x: x + 1, store)

    store = make_store()
    out = f(store)
    assert isinstance(out, ParamStore) and out.infos() == store.infos()
    f(jax.tree.map(lambda x: x * 3, store))
    f(store.replace({"foo/b": jnp.ones(3)}))
    f(ParamStore.from_flat_dict(store.to_flat_dict(), store.infos()))  # Equal, not identical def.
    assert traces == 1
    f(ParamStore.from_flat_dict({**store.to_flat_dict(), "foo/b": jnp.ones(4)}, {"step": FROZEN}))
    assert traces == 2
    f(store.split()[0])
    assert traces == 3


def test_grad_returns_store_with_same_infos():
    trainable, rest = make_store().split()

    def loss(params, rest):
        return jnp.sum(params["foo/bar/v"] ** 2) + jnp.sum(params["foo/b"]) + rest["step"]

    grads = jax.grad(loss)(trainable, rest)
    assert isinstance(grads, ParamStore) and grads.infos() == trainable.infos()
    np.testing.assert_allclose(grads["foo/bar/v"], 2 * trainable["foo/bar/v"])
    np.testing.assert_allclose(grads["foo/b"], jnp.ones(3))


def test_optax_adam_round_trip():
    params, _ = make_store().split()
    optimizer = optax.adam(0.1)
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: jnp.sum(p["foo/bar/v"] ** 2) + jnp.sum(p["foo/b"]))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(3):
        params, state = step(params, state)
    assert isinstance(params, ParamStore) and params.infos() == make_store().split()[0].infos()
    assert isinstance(state[0].mu, ParamStore)
    assert float(params["foo/b"][0]) < 0.0  # Moved against the gradient.


def test_eval_shape_gives_shape_dtype_structs():
    store = make_store()
    abstract = jax.eval_shape(lambda s: jax.tree.map(lambda x: x * 2, s), store)
    assert isinstance(abstract, ParamStore) and abstract.infos() == store.infos()
    assert all(isinstance(v, jax.ShapeDtypeStruct) for v in abstract.values())
    assert abstract["foo/bar/v"].shape == (2, 3)
    # ShapeDtypeStructs are valid values for from_flat_dict and replace.
    assert store.replace(abstract.to_flat_dict())["step"] is abstract["step"]


def test_vmap_over_stacked_store():
    store = make_store()
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), store, jax.tree.map(lambda x: x + 1, store))

    def f(s):
        assert s.info("foo/bar/v").shape == s["foo/bar/v"].shape  # Per-example shapes.
        return jnp.sum(s["foo/bar/v"]) + s["step"]

    np.testing.assert_allclose(jax.vmap(f)(stacked), [15.0, 22.0])
    per_example = jax.vmap(lambda s: s.replace({"foo/b": s["foo/b"] + 1}))(stacked)
    assert isinstance(per_example, ParamStore) and per_example["foo/b"].shape == (2, 3)


# ------------------------------------------------------------------------------ properties

_SEGMENT = st.text(alphabet="ab_.-", max_size=2)
_NAME = st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join)


def _without_prefix_conflicts(names: list[str]) -> list[str]:
    return [n for n in names if not any(m.startswith(n + "/") for m in names)]


@settings(max_examples=60, deadline=None)
@given(st.lists(_NAME, unique=True, max_size=8))
def test_property_flat_nested_round_trip(names):
    names = _without_prefix_conflicts(names)
    store = ParamStore.from_flat_dict({n: np.float32(i) for i, n in enumerate(names)})
    again = ParamStore.from_nested_dict(store.to_nested_dict(), store.infos())
    assert again.names() == tuple(sorted(names))
    assert_same_store(again, store)


@settings(max_examples=60, deadline=None)
@given(st.lists(_NAME, unique=True, max_size=8), st.randoms(use_true_random=False))
def test_property_flatten_unflatten_identity(names, rng):
    values = {n: np.full((i % 3,), i, np.float32) for i, n in enumerate(names)}
    store = ParamStore.from_flat_dict(values)
    leaves, treedef = jax.tree.flatten(store)
    again = jax.tree.unflatten(treedef, leaves)
    assert again.names() == store.names() and again._def is store._def
    assert all(a is b for a, b in zip(again.values(), store.values(), strict=True))
    shuffled = list(values.items())
    rng.shuffle(shuffled)
    other = ParamStore.from_flat_dict(dict(shuffled))
    assert jax.tree.structure(other) == treedef and hash(jax.tree.structure(other)) == hash(treedef)
    assert list(other) == sorted(names)
