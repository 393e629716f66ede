"""Every example of the two TF1 reference pages (shared/reference/), with tf. -> scopejax.

TF's ``v.name == "foo/bar/v:0"`` becomes a check on the names in the ParamStore, and
``v1 == v`` (the same variable) becomes ``v1 is v``: get_variable returns the very same array
object for a shared variable, in init and in apply.
"""

import jax
import pytest

import scopejax as sj

KEY = jax.random.key(0)


def run_both(fn):
    """Runs ``fn`` in init, then in apply on the params it made; returns the params."""
    model = sj.transform(fn)
    params = model.init(KEY)
    model.apply(params)
    return params


def test_get_variable_basic_auto_reuse_example():
    def foo():
        with sj.variable_scope("foo", reuse=sj.AUTO_REUSE):
            v = sj.get_variable("v", [1])
        return v

    def program():
        v1 = foo()  # Creates v.
        v2 = foo()  # Gets the same, existing v.
        assert v1 is v2
    assert run_both(program).names() == ("foo/v",)


def test_get_variable_custom_getter_example():
    def custom_getter(getter, name, *args, **kwargs):
        return getter(name + "_suffix", *args, **kwargs)

    def program():
        with sj.variable_scope("foo", custom_getter=custom_getter):
            sj.get_variable("v", [1])
    assert run_both(program).names() == ("foo/v_suffix",)


def test_get_variable_initializer_defaults_to_scope_then_glorot():
    def program():
        with sj.variable_scope("s", initializer=sj.ones_initializer()):
            a = sj.get_variable("a", [2])
        b = sj.get_variable("b", [2])
        return a, b
    (a, b), _ = sj.transform(program).init_with_output(KEY)
    assert a.tolist() == [1.0, 1.0] and b.tolist() != [1.0, 1.0]


def test_variable_scope_simple_example():
    def program():
        with sj.variable_scope("foo"):
            with sj.variable_scope("bar"):
                sj.get_variable("v", [1])
    params = run_both(program)
    assert params.names() == ("foo/bar/v",)  # TF: v.name == "foo/bar/v:0"


def test_variable_scope_sharing_example():
    def program():
        with sj.variable_scope("foo"):
            v = sj.get_variable("v", [1])
        with sj.variable_scope("foo", reuse=True):
            v1 = sj.get_variable("v", [1])
        assert v1 is v
    run_both(program)


def test_variable_scope_capturing_a_scope_and_reuse_variables_example():
    def program():
        with sj.variable_scope("foo") as scope:
            v = sj.get_variable("v", [1])
            scope.reuse_variables()
            v1 = sj.get_variable("v", [1])
        assert v1 is v
    assert run_both(program).names() == ("foo/v",)


def test_variable_scope_accidental_sharing_raises_example():
    def program():
        with sj.variable_scope("foo"):
            sj.get_variable("v", [1])
            sj.get_variable("v", [1])
    with pytest.raises(ValueError, match="foo/v already exists"):
        sj.transform(program).init(KEY)


def test_variable_scope_reuse_of_a_missing_variable_raises_example():
    def program():
        with sj.variable_scope("foo", reuse=True):
            sj.get_variable("v", [1])
    with pytest.raises(ValueError, match="foo/v does not exist"):
        sj.transform(program).init(KEY)


def test_variable_scope_reuse_flag_is_inherited_example():
    def program():
        with sj.variable_scope("root"):
            with sj.variable_scope("sub"):
                v = sj.get_variable("v", [1])
        with sj.variable_scope("root", reuse=True) as r:
            with sj.variable_scope("sub") as s:
                assert r.reuse is True and s.reuse is True
                assert sj.get_variable("v", [1]) is v
    run_both(program)
