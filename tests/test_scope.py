"""The pure Scope value: path algebra, TF1 inheritance rules, value semantics."""

import dataclasses
import pickle

import jax.numpy as jnp
import numpy as np
import pytest

import scopejax
from scopejax import AUTO_REUSE, Scope
from scopejax._src.errors import ReuseError, ScopeNameError
from scopejax._src.scope import check_reuse, compose_getters


def test_root_defaults():
    root = Scope.root()
    assert root.name == "" and root.reuse is False and root.dtype == np.float32
    assert root.initializer is None and root.constraint is None


def test_child_paths():
    s = Scope.root().child("foo").child("bar")
    assert s.name == "foo/bar"
    assert Scope.root().child("a/b").name == "a/b"


def test_value_semantics_and_hash():
    a = Scope.root().child("foo", initializer=scopejax.zeros_initializer())
    b = Scope.root().child("foo", initializer=scopejax.zeros_initializer())
    assert a == b and hash(a) == hash(b)
    assert a != Scope.root().child("foo")
    assert len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "x"


def test_unhashable_defaults_compare_by_identity():
    arr = np.ones(3)
    a = Scope.root().child("foo", initializer=arr)
    assert hash(a) == hash(a)
    assert a == Scope.root().child("foo", initializer=arr)
    assert a != Scope.root().child("foo", initializer=np.ones(3))


@pytest.mark.parametrize(
    "parent, child, expected",
    [
        (False, None, False), (False, False, False), (False, True, True),
        (False, AUTO_REUSE, AUTO_REUSE), (True, None, True), (True, False, True),
        (True, AUTO_REUSE, AUTO_REUSE), (AUTO_REUSE, None, AUTO_REUSE),
        (AUTO_REUSE, True, True), (AUTO_REUSE, False, AUTO_REUSE),
    ],
)  # fmt: skip
def test_reuse_inheritance_is_child_or_parent(parent, child, expected):
    s = Scope.root().child("p", reuse=parent if parent else None).child("c", reuse=child)
    assert s.reuse is expected


@pytest.mark.parametrize("bad", [1, 0, "yes", "True", 1.0])
def test_reuse_is_checked_by_identity(bad):
    with pytest.raises(ReuseError, match="The reuse parameter must be True or False or None"):
        check_reuse(bad)
    with pytest.raises(ValueError, match="must be True or False or None"):
        Scope.root().child("a", reuse=bad)


@pytest.mark.parametrize(
    "captured, arg, expected",
    [(False, None, False), (True, None, True), (True, False, True), (False, True, True),
     (AUTO_REUSE, None, AUTO_REUSE), (False, AUTO_REUSE, AUTO_REUSE)],
)  # fmt: skip
def test_reenter_keeps_its_own_reuse(captured, arg, expected):
    s = Scope.root().child("d", reuse=captured if captured else None)
    assert s.reenter(reuse=arg).reuse is expected


def test_everything_but_constraint_is_inherited():
    init, reg, part, cd = scopejax.ones_initializer(), abs, object(), "/cpu:0"
    parent = Scope.root().child(
        "p", initializer=init, regularizer=reg, partitioner=part, caching_device=cd,
        dtype=jnp.float16, use_resource=True, constraint=jnp.abs,
    )  # fmt: skip
    assert parent.constraint is jnp.abs
    child = parent.child("c")
    assert (child.initializer, child.regularizer, child.partitioner, child.caching_device) == (
        init, reg, part, cd)  # fmt: skip
    assert child.dtype == np.float16 and child.use_resource is True
    assert child.constraint is None
    assert parent.reenter().constraint is None
    assert parent.reenter(constraint=jnp.sign).constraint is jnp.sign


def test_child_overrides_defaults():
    parent = Scope.root().child("p", initializer=scopejax.ones_initializer(), dtype="float16")
    child = parent.child("c", initializer=scopejax.zeros_initializer(), dtype=jnp.int32)
    assert child.initializer == scopejax.zeros_initializer()
    assert child.dtype == np.int32


def test_custom_getter_composition_innermost_runs_first():
    def suffix(s):
        def getter(getter, name, *args, **kwargs):
            return getter(name + s, *args, **kwargs)
        return getter

    s = (Scope.root().child("o", custom_getter=suffix("_o")).child("m", custom_getter=suffix("_m"))
         .child("i", custom_getter=suffix("_i")))  # fmt: skip
    assert s.custom_getter(lambda name, **kw: name, "v") == "v_i_m_o"
    assert compose_getters(None, len) is len and compose_getters(len, None) is len


def test_invalid_child_names():
    with pytest.raises(ScopeNameError, match="is not a valid root scope name"):
        Scope.root().child("_bad")
    with pytest.raises(ScopeNameError, match="empty path component"):
        Scope.root().child("foo").child("")


def test_invalid_dtype():
    with pytest.raises(TypeError, match="Invalid dtype 'nope' for scope 'x'"):
        Scope(name="x", dtype="nope")


def test_reuse_variables_in_pure_code_returns_a_reusing_copy():
    s = Scope.root().child("foo")
    r = s.reuse_variables()
    assert r.reuse is True and s.reuse is False and r.name == "foo"


def test_repr_and_pickle():
    s = Scope.root().child("foo", reuse=AUTO_REUSE, dtype="float16")
    assert repr(s) == "Scope('foo', reuse=AUTO_REUSE, dtype=float16)"
    assert pickle.loads(pickle.dumps(AUTO_REUSE)) is AUTO_REUSE
    assert pickle.loads(pickle.dumps(s)) == s


def test_bad_scope_fields_are_type_errors():
    with pytest.raises(scopejax.ScopeTypeError, match="Scope name must be a string, got int"):
        Scope(name=3)
    with pytest.raises(scopejax.ScopeTypeError, match="Invalid dtype 'nope' for scope 'a'"):
        Scope.root().child("a", dtype="nope")
