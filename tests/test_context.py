"""The implicit TF1-style API: variable_scope / get_variable / get_variable_scope.

Each test names the TF1_SEMANTICS.md rule it pins down.
"""

import threading

import jax
import pytest

import scopejax as sj
from scopejax import AUTO_REUSE, get_variable, variable_scope

KEY = jax.random.key(0)


def init(fn):
    return sj.transform(fn).init(KEY)


def names_of(fn):
    return init(fn).names()


def test_nested_names():
    def f():
        with variable_scope("foo"), variable_scope("bar"):
            get_variable("v", [1])
    assert names_of(f) == ("foo/bar/v",)


def test_rule1_reuse_false_inherits():
    def f():
        with variable_scope("a"):
            get_variable("w", [1])
        with variable_scope("a", reuse=True), variable_scope("b", reuse=False) as b:
            assert b.reuse is True
        with variable_scope("a", reuse=True), variable_scope("b", reuse=False):
            with pytest.raises(ValueError, match="a/b/x does not exist"):
                get_variable("x", [1])
    init(f)


def test_rule3_auto_under_true_creates_and_true_under_auto_is_strict():
    def f():
        with variable_scope("a", reuse=True), variable_scope("b", reuse=AUTO_REUSE):
            get_variable("w", [1])
        with variable_scope("c", reuse=AUTO_REUSE), variable_scope("d", reuse=True):
            with pytest.raises(ValueError, match="c/d/w does not exist"):
                get_variable("w", [1])
    assert names_of(f) == ("a/b/w",)


def test_rule4_reentering_a_captured_scope_does_not_inherit_reuse():
    def f():
        with variable_scope("d") as d:
            pass
        with variable_scope("outer", reuse=True):
            with variable_scope(d) as d2:
                assert d2.reuse is False and d2.name == "d"
                get_variable("v", [1])
        with variable_scope("auto", reuse=AUTO_REUSE), variable_scope(d):
            with pytest.raises(ValueError, match="Variable d/v already exists, disallowed"):
                get_variable("v", [1])
        with variable_scope("r", reuse=True) as r:
            pass
        with variable_scope(r, reuse=False) as r2:
            assert r2.reuse is True
    assert names_of(f) == ("d/v",)


def test_rule5_reuse_variables_mutates_the_captured_scope_in_effect():
    def f():
        with variable_scope("foo") as scope:
            v = get_variable("v", [1])
            scope.reuse_variables()
            assert sj.get_variable_scope().reuse is True
            assert get_variable("v", [1]) is v
            with variable_scope("sub") as sub:  # opened afterwards: inherits
                assert sub.reuse is True
        # persists on the captured object...
        with variable_scope(scope):
            assert get_variable("v", [1]) is v
        # ...but re-opening the name gives a fresh, non-reusing scope
        with variable_scope("foo") as again:
            assert again.reuse is False
            with pytest.raises(ValueError, match="already exists"):
                get_variable("v", [1])
        # reuse_variables inside a re-entry does not touch the captured object
        with variable_scope("bar") as bar:
            pass
        with variable_scope(bar) as copy:
            copy.reuse_variables()
        with variable_scope(bar) as copy2:
            assert copy2.reuse is False
    init(f)


def test_rule5_the_captured_value_keeps_its_reuse_field():
    """Documented difference: TF's mutated object reports reuse=True; a Scope value cannot."""
    def f():
        with variable_scope("foo") as foo:
            foo.reuse_variables()
            assert foo.reuse is False  # the value is immutable...
            assert sj.get_variable_scope().reuse is True  # ...but the active scope reuses
    init(f)


def test_rule5_reuse_variables_never_touches_the_parent():
    def f():
        with variable_scope("p") as p:
            with variable_scope("c") as c:
                c.reuse_variables()
            assert sj.get_variable_scope().reuse is False
            assert p.reuse is False
    init(f)


def test_rule5_reuse_variables_on_an_enclosing_scope_applies_after_the_child_exits():
    def f():
        with variable_scope("outer") as outer:
            v = get_variable("v", [1])
            with variable_scope("inner") as inner:
                outer.reuse_variables()
                assert inner.reuse is False and sj.get_variable_scope().reuse is False
            assert sj.get_variable_scope().reuse is True
            assert get_variable("v", [1]) is v
        with variable_scope("a", reuse=AUTO_REUSE) as a:
            a.reuse_variables()
            assert sj.get_variable_scope().reuse is True  # AUTO -> strict True, as in TF
    init(f)


def test_rule5_root_reuse_variables_makes_the_rest_reusing():
    def f():
        get_variable("v", [1])
        sj.get_variable_scope().reuse_variables()
        get_variable("v", [1])
        with variable_scope("x") as x:
            assert x.reuse is True
    init(f)


def test_rule6_reuse_ignores_other_arguments_but_checks_dtype():
    def f():
        with variable_scope("a"):
            get_variable("v", [2, 3], initializer=sj.zeros_initializer(), trainable=False)
            get_variable("n", [1], dtype="int32")
        with variable_scope("a", reuse=True):
            get_variable("v", [2, 3], initializer=sj.ones_initializer(), trainable=True)
            get_variable("v")  # shape None skips the shape check
            get_variable("v", [None, 3])  # partial shapes are fine
            get_variable("n", [1], dtype="int32")
            with pytest.raises(ValueError, match=r"Trying to share variable a/v, but specified "
                               r"shape \(3, 2\) and found shape \(2, 3\)\."):
                get_variable("v", [3, 2])
            with pytest.raises(ValueError, match=r"Trying to share variable a/n, but specified "
                               r"dtype float32 and found dtype int32"):
                get_variable("n", [1])
        with variable_scope("a", reuse=AUTO_REUSE):
            with pytest.raises(ValueError, match="specified dtype float32 and found dtype int32"):
                get_variable("n", [1])
    params = init(f)
    assert params.info("a/v").trainable is False


def scope_names(ops):
    """Runs a sequence of ("S", name) / ("D", default_name) openings; returns the scope names."""
    out = []

    def f():
        for kind, name in ops:
            if kind == "S":
                cm = variable_scope(name)
            else:
                cm = variable_scope(None, default_name=name)
            with cm as s:
                out.append(s.name)
    init(f)
    return out


def test_rule7_every_opening_counts_and_explicit_names_steer():
    ops = [("S", "layer"), ("D", "layer"), ("D", "layer"), ("S", "layer"), ("D", "layer")]
    assert scope_names(ops) == ["layer", "layer_1", "layer_2", "layer", "layer_3"]
    assert scope_names([("S", "layer_1"), ("D", "layer"), ("D", "layer")]) == [
        "layer_1", "layer", "layer_2"]  # fmt: skip
    assert scope_names([("D", "layer"), ("S", "layer_1"), ("D", "layer")]) == [
        "layer", "layer_1", "layer_2"]  # fmt: skip


def test_rule7_default_names_can_collide_with_explicit_ones():
    def f():
        with variable_scope(None, default_name="layer") as a:
            get_variable("v", [1])
        with variable_scope("layer_1"):
            pass
        with variable_scope(None, default_name="layer") as b:
            assert (a.name, b.name) == ("layer", "layer_2")
    init(f)


def test_rule7_counts_key_on_the_joined_string():
    def f():
        with variable_scope(None, default_name="a/b") as s1:
            pass
        with variable_scope("a"):
            with variable_scope(None, default_name="b") as s2:
                pass
        return s1.name, s2.name
    assert sj.transform(f).init_with_output(KEY)[0] == ("a/b", "a/b_1")


def test_rule8_exiting_a_named_scope_resets_default_names_below_it():
    def model():
        with variable_scope(None, default_name="layer"):
            get_variable("w", [1])
        with variable_scope(None, default_name="layer"):
            get_variable("w", [1])

    def f():
        with variable_scope("net"):
            model()
        with variable_scope("net", reuse=True):
            model()  # finds net/layer/w and net/layer_1/w again
    assert names_of(f) == ("net/layer/w", "net/layer_1/w")


def test_rule8_docstring_bar_instead_of_bar_2():
    def f():
        with variable_scope("foo"):
            with variable_scope(None, default_name="bar") as b1:
                pass
        with variable_scope("foo"):
            with variable_scope(None, default_name="bar") as b2:
                pass
        return b1.name, b2.name
    assert sj.transform(f).init_with_output(KEY)[0] == ("foo/bar", "foo/bar")


def test_rule9_exiting_a_reentered_object_restores_the_counters():
    seen = []

    def f():
        with variable_scope("foo") as foo:
            pass
        for _ in range(3):
            with variable_scope(foo):
                with variable_scope(None, default_name="bar") as b:
                    seen.append(b.name)
                    get_variable("a", [1])
    with pytest.raises(ValueError, match="Variable foo/bar/a already exists"):
        init(f)
    assert seen == ["foo/bar", "foo/bar"]


def test_rule9_jumping_into_the_current_scope():
    def f():
        with variable_scope(None, default_name="x") as x1:
            pass
        with variable_scope(sj.get_variable_scope()):  # opens nothing new
            pass
        with variable_scope(None, default_name="x") as x2:
            pass
        return x1.name, x2.name
    assert sj.transform(f).init_with_output(KEY)[0] == ("x", "x_1")


def test_rule10_default_name_with_reuse_raises_and_consumes_no_number():
    def f():
        for reuse in (True, AUTO_REUSE):
            with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or"):
                with variable_scope(None, default_name="d", reuse=reuse):
                    pass
        with variable_scope(None, default_name="d") as d:
            assert d.name == "d"
        with variable_scope("r", reuse=True), variable_scope(None, default_name="d") as dd:
            assert dd.reuse is True
    init(f)


def test_rule10_name_or_scope_required_and_name_wins():
    def f():
        with pytest.raises(TypeError, match="If default_name is None then name_or_scope is"):
            variable_scope(None)
        with variable_scope("given", default_name="ignored") as s:
            assert s.name == "given"
        with pytest.raises(TypeError, match="name_or_scope must be a string or VariableScope"):
            variable_scope(3)
        with pytest.raises(TypeError, match="auxiliary_name_scope must be `True` or `False`"):
            variable_scope("x", auxiliary_name_scope=1)
    init(f)


def test_rule15_odd_names():
    def f():
        get_variable("a/b", [1])
        with variable_scope("a", reuse=True):
            get_variable("b", [1])
        with variable_scope("x/y") as s:
            assert s.name == "x/y"
        with variable_scope("") as root:
            assert root.name == ""
        with variable_scope("foo"):
            with pytest.raises(ValueError, match="empty path component"):
                variable_scope("").__enter__()
            with pytest.raises(ValueError, match="non-empty name"):
                get_variable("", [1])
    assert names_of(f) == ("a/b",)


def test_rule16_name_validation():
    def f():
        with pytest.raises(ValueError, match="'_x' is not a valid root scope name"):
            variable_scope("_x").__enter__()
        with pytest.raises(ValueError, match="'_y' is not a valid root scope name"):
            get_variable("_y", [1])
        with variable_scope("a"):
            with variable_scope("_x"):
                get_variable("_z", [1])
            get_variable("_w", [1])
    assert names_of(f) == ("a/_w", "a/_x/_z")


def test_errors_outside_transform():
    with pytest.raises(RuntimeError, match=r"scopejax.get_variable was called outside a function "
                       r"run by scopejax.transform"):
        get_variable("v", [1])
    with pytest.raises(sj.NoTransformError, match="variable_scope"):
        with variable_scope("x"):
            pass
    with pytest.raises(sj.NoTransformError, match="get_variable_scope"):
        sj.get_variable_scope()


def test_state_is_restored_when_the_body_raises():
    def f():
        try:
            with variable_scope("a"), variable_scope("b"):
                raise KeyError("boom")
        except KeyError:
            pass
        assert sj.get_variable_scope().name == ""
        get_variable("v", [1])
    assert names_of(f) == ("v",)
    with pytest.raises(ZeroDivisionError):
        init(lambda: 1 / 0)
    with pytest.raises(sj.NoTransformError):
        sj.get_variable_scope()  # nothing left behind by the failed call


def test_improper_nesting():
    def f():
        outer = variable_scope("a")
        inner = variable_scope("b")
        outer.__enter__()
        inner.__enter__()
        with pytest.raises(RuntimeError, match="Improper nesting of variable_scope"):
            outer.__exit__(None, None, None)
    init(f)


def test_a_variable_scope_object_is_not_reentrant_while_active():
    def f():
        cm = variable_scope("a")
        with cm, pytest.raises(RuntimeError, match="already active"):
            cm.__enter__()
        with cm:  # usable again after exit
            pass
    init(f)


def test_rule11_threads_never_see_each_others_scopes_or_counters():
    barrier = threading.Barrier(4)
    results = {}

    def model(tag):
        def f():
            with variable_scope(tag):
                barrier.wait(timeout=10)
                with variable_scope(None, default_name="d") as d:
                    get_variable("v", [1])
                    assert sj.get_variable_scope().name == f"{tag}/d"
                    return d.name
        return f

    def work(tag):
        out, params = sj.transform(model(tag)).init_with_output(KEY)
        results[tag] = (out, params.names())

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {f"t{i}": (f"t{i}/d", (f"t{i}/d/v",)) for i in range(4)}


def test_nested_transforms_do_not_mix():
    inner = sj.transform(lambda: get_variable("inner", [1]))

    def outer():
        with variable_scope("o"):
            p = inner.init(KEY)
            get_variable("v", [1])
            assert sj.get_variable_scope().name == "o"
        return p.names()
    out, params = sj.transform(outer).init_with_output(KEY)
    assert out == ("inner",) and params.names() == ("o/v",)


def test_scope_level_dtype_and_initializer_apply_to_gets():
    def f():
        with variable_scope("s", dtype="float16", initializer=sj.ones_initializer()):
            get_variable("v", [2])
            with variable_scope("t"):
                get_variable("w", [2], dtype="int32")
    p = init(f)
    assert p.info("s/v").dtype == "float16" and p["s/v"].tolist() == [1, 1]
    assert p["s/t/w"].dtype == "int32" and p["s/t/w"].tolist() == [1, 1]


def test_exit_without_enter():
    with pytest.raises(RuntimeError, match="__exit__ called on a variable_scope that was not"):
        variable_scope("a").__exit__(None, None, None)
