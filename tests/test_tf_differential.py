"""Differential tests: the same TF1 scope programs on real ``tf.compat.v1`` and on scopejax.

Every case is a program over ``tf_oracle.Api`` (see tests/tf_oracle.py). It runs once in a fresh
``tf.Graph()`` (graph mode) and once inside ``scopejax.transform(...).init``; the two event logs --
variable names, shapes, dtypes, collections, sharing ("same as variable #k"), scope names and
reuse modes, values of deterministic initializers, and errors as (builtin type, key phrase,
variable) -- must be equal. TensorFlow is the oracle.

The programs avoid scopejax's documented deliberate differences: empty scope/variable names
(``foo//v``, ``VariableV2``), partitioners, and 64-bit dtypes unless x64 is on (``x64=True``
cases run scopejax under ``jax.enable_x64``; otherwise TF dtypes are canonicalised like JAX's).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip(
    "tensorflow",
    reason="tensorflow not installed (pip install scopejax[tf]); differential tests need it",
)

from hypothesis import given, settings  # noqa: E402
from programs import REUSES, Program, as_reuse, program, programs  # noqa: E402
from tf_oracle import Api, assert_same  # noqa: E402

CASES: list[Any] = []


def case(fn: Program | None = None, *, x64: bool = False, name: str | None = None) -> Any:
    """Registers a program as a differential case."""

    def register(f: Program) -> Program:
        CASES.append(pytest.param(f, x64, id=name or f.__name__))
        return f

    return register(fn) if fn is not None else register


def parent_scope(api: Api, parent: Any, name: str = "p") -> Any:
    """A parent context: nothing ("root"), or scope ``name`` opened with reuse ``parent``."""
    if parent == "root":
        return contextlib.nullcontext()
    return api.scope(name, reuse=as_reuse(api, parent))


# ----------------------------------------------------------------------------------- nesting


@case
def nesting(api: Api) -> None:
    api.current()
    with api.scope("foo"):
        with api.scope("bar"):
            api.get("v", [1])
            api.current()
        api.current()
        api.get("v", [1])
        with api.scope("bar", reuse=True):
            api.get("v", [1])
    api.current()
    with api.scope("foo/bar", reuse=True):
        api.get("v", [1])
    with api.scope("foo"), api.scope("bar"), api.scope("baz"):
        api.get("v", [2])


@case
def names_with_slashes(api: Api) -> None:
    api.get("a/b", [1])
    with api.scope("a", reuse=True):
        api.get("b", [1])
    with api.scope("x/y") as s:
        api.get("z", [2])
    with api.scope("x"), api.scope("y", reuse=True):
        api.get("z", [2])
    with api.scope(s, reuse=True):
        api.get("z")
    with api.scope("x"):
        api.get("y/w", [1])
    with api.scope("x/y", reuse=True):
        api.get("w", [1])


@case
def empty_scope_name_at_root_is_the_root(api: Api) -> None:
    with api.scope(""):
        api.current()
        api.get("v", [1])
    with api.scope("", reuse=True):
        api.get("v", [1])


# ------------------------------------------------------------------ reuse: every combination


def _reuse_matrix(parent: Any, child: Any) -> Program:
    def prog(api: Api) -> None:
        for outer in ("p", None):  # setup: c/old and p/c/old exist
            with parent_scope(api, None, outer) if outer else contextlib.nullcontext():
                with api.scope("c"):
                    api.get("old", [1])
        with parent_scope(api, parent):
            api.current()
            with api.scope("c", reuse=as_reuse(api, child)):
                api.current()
                api.get("old", [1])
                api.get("new", [1])
                api.get("new", [1])
                with api.scope("g", reuse=False):
                    api.current()
                    api.get("x", [1])
            api.current()
            api.get("top", [1])

    return prog


for _p in ["root", *REUSES]:
    for _c in REUSES:
        case(_reuse_matrix(_p, _c), name=f"reuse_matrix-parent={_p}-child={_c}")


def _reenter_matrix(captured: Any, enclosing: Any, override: Any) -> Program:
    def prog(api: Api) -> None:
        with api.scope("d"):
            api.get("v", [1])
        with api.scope("d", reuse=as_reuse(api, captured)) as d:
            pass
        with parent_scope(api, enclosing, "outer"):
            with api.scope(d, reuse=as_reuse(api, override)):
                api.current()
                api.get("v", [1])
                api.get("w", [1])
                api.get("w", [1])
                with api.scope("sub"):
                    api.current()
            api.current()
        with api.scope(d):  # the captured object is unchanged by the re-entry's override
            api.current()

    return prog


for _cap in [None, True, "AUTO"]:
    for _enc in ["root", None, True, "AUTO"]:
        for _ov in REUSES:
            case(_reenter_matrix(_cap, _enc, _ov),
                 name=f"reenter-captured={_cap}-enclosing={_enc}-override={_ov}")  # fmt: skip


@case
def auto_reuse_is_idempotent(api: Api) -> None:
    for _ in range(3):
        with api.scope("bar", reuse=api.AUTO_REUSE):
            api.get("var", [])
        with api.scope("bar", reuse=api.AUTO_REUSE):
            api.get("var", [])
            api.get("var", [None])  # rank differs from the scalar
            api.get("var", [], dtype="int32")


@case
def invalid_reuse_values(api: Api) -> None:
    with api.scope("s") as s:
        pass
    for bad in (1, 0, "yes", "True", 1.0):
        with api.guard(f"named reuse={bad!r}"), api.scope("x", reuse=bad):
            api.current()
        with api.guard(f"reentered reuse={bad!r}"), api.scope(s, reuse=bad):
            api.current()
        with api.guard(f"default reuse={bad!r}"), api.scope(None, "d", reuse=bad):
            api.current()
    api.current()


@case
def reenter_root_scope(api: Api) -> None:
    api.get("v", [1])
    root = api.get_variable_scope()
    with api.scope("outer"):
        with api.scope(root):
            api.current()
            with api.guard():
                api.get("v", [1])
        with api.scope(root, reuse=True):
            api.current()
            api.get("v", [1])
            with api.scope(None, "d"):
                api.current()
    api.current()
    api.get("w", [1])


# -------------------------------------------------------------------------- reuse_variables()


@case
def reuse_variables_on_the_yielded_scope(api: Api) -> None:
    with api.scope("foo") as foo:
        api.get("v", [1])
        foo.reuse_variables()
        api.current()
        api.get("v", [1])
        api.get("w", [1])
        with api.scope("sub"):
            api.current()
        with api.scope(None, "dflt"):
            api.current()
    api.current()
    with api.scope(foo):  # persists on the captured object
        api.current()
        api.get("v", [1])
    with api.scope(foo, reuse=False):
        api.current()
    with api.scope("foo"):  # re-opening the name gives a fresh scope
        api.current()
        api.get("v", [1])


@case
def reuse_variables_on_the_root(api: Api) -> None:
    api.get("v", [1])
    api.get_variable_scope().reuse_variables()
    api.current()
    api.get("v", [1])
    api.get("u", [1])
    with api.scope("x"):
        api.current()
    with api.scope("y", reuse=api.AUTO_REUSE):
        api.current()
        api.get("z", [1])
    with api.scope(None, "d"):
        api.current()


@case
def reuse_variables_inside_a_reentry_does_not_touch_the_captured_object(api: Api) -> None:
    with api.scope("bar") as bar:
        api.get("v", [1])
    with api.scope(bar) as copy:
        api.current()
        copy.reuse_variables()
        api.current()
        api.get("v", [1])
        with api.scope("in"):
            api.current()
    with api.scope(bar):
        api.current()
        api.get("v", [1])


@case
def reuse_variables_never_touches_the_parent(api: Api) -> None:
    with api.scope("p"):
        with api.scope("c") as c:
            c.reuse_variables()
            api.current()
        api.current()
        api.get("x", [1])
        with api.scope("c2"):
            api.current()


@case
def reuse_variables_after_exit(api: Api) -> None:
    with api.scope("late") as late:
        api.get("v", [1])
    late.reuse_variables()
    api.current()
    api.get("free", [1])
    with api.scope(late):
        api.current()
        api.get("v", [1])
    with api.scope("late"):
        api.current()


@case
def reuse_variables_on_a_scope_that_is_not_active(api: Api) -> None:
    with api.scope("a") as a:
        pass
    with api.scope("b"):
        a.reuse_variables()
        api.current()
        api.get("v", [1])
    with api.scope(a):
        api.current()
        with api.guard():
            api.get("v", [1])


@case
def reuse_variables_on_an_enclosing_active_scope(api: Api) -> None:
    # TF mutates the object in place, so the rest of the enclosing block reuses once the inner
    # scope exits; scopes already open below keep the reuse they were opened with.
    with api.scope("a") as a:
        api.get("v", [1])
        with api.scope("b"):
            a.reuse_variables()
            api.current()
            with api.scope("c"):
                api.current()
        api.current()
        api.get("v", [1])
    with api.scope(a):
        api.current()


@case
def reuse_variables_via_get_variable_scope(api: Api) -> None:
    with api.scope("q") as q:
        api.get("v", [1])
        api.get_variable_scope().reuse_variables()
        api.current()
        api.get("v", [1])
    with api.scope(q):
        api.current()
    with api.scope(None, "dd") as dd:
        dd.reuse_variables()
        api.current()


@case
def reuse_variables_makes_the_scope_reuse_in_effect(api: Api) -> None:
    # TF mutates the VariableScope in place. scopejax's Scope values are immutable, so the
    # captured value's own `.reuse` field stays False (a documented difference, pinned in
    # tests/test_context.py); what the object *does* is the same: the active scope reuses, and
    # so does every later re-entry of the captured object.
    with api.scope("foo") as foo:
        api.get("v", [1])
        api.note("before", api.reuse_of(foo))
        foo.reuse_variables()
        api.current()
        api.get("v", [1])
    with api.scope(foo):
        api.current()
        api.get("v", [1])


@case
def reuse_variables_on_a_reentered_copy_then_default_names(api: Api) -> None:
    """testVarOpScopeReuseParam's shape: outer.reuse_variables() on the re-entry's copy."""
    with api.scope("outer") as outer:
        with api.scope("tower", "default"):
            api.get("w", [])
        with api.scope(None, "default"):
            api.get("w", [])
    with api.scope(outer) as outer2:
        with api.scope("tower", "default", reuse=True):
            api.get("w", [])
        outer2.reuse_variables()
        with api.scope(None, "default"):
            api.current()
            api.get("w", [])


# ------------------------------------------------------------------- default_name numbering


def _sequence(ops: list[tuple[str, str]]) -> Program:
    def prog(api: Api) -> None:
        for kind, name in ops:
            with api.scope(name if kind == "S" else None, name if kind == "D" else None):
                pass

    return prog


SEQUENCES = {
    "explicit_names_steer": [("S", "layer"), ("D", "layer"), ("D", "layer"), ("S", "layer"),
                             ("D", "layer")],
    "explicit_suffix_first": [("S", "layer_1"), ("D", "layer"), ("D", "layer"), ("D", "layer")],
    "explicit_suffix_between": [("D", "layer"), ("S", "layer_1"), ("D", "layer")],
    "explicit_far_suffix": [("S", "layer_5")] + [("D", "layer")] * 7,
    "defaults_only": [("D", "x")] * 4,
    "substring_names": [("D", "layer"), ("D", "layer_1"), ("D", "layer"), ("D", "layer_1_1"),
                        ("D", "layer")],
    "slash_default": [("D", "a/b"), ("D", "a/b"), ("S", "a/b_2"), ("D", "a/b")],
}  # fmt: skip
for _name, _ops in SEQUENCES.items():
    case(_sequence(_ops), name=f"default_names-{_name}")


@case
def default_names_count_on_the_joined_string(api: Api) -> None:
    with api.scope(None, "a/b"):
        pass
    with api.scope("a"):
        with api.scope(None, "b"):
            api.get("v", [1])
        with api.scope(None, "b"):
            pass
    with api.scope(None, "a/b"):
        pass


@case
def default_names_nested_in_default_names(api: Api) -> None:
    for _ in range(2):
        with api.scope(None, "a"):
            with api.scope(None, "b"):
                api.get("w", [])
            with api.scope(None, "b"):
                api.get("w", [])


@case
def default_names_interleaved_substring_scopes(api: Api) -> None:
    """testVarOpScopeUniqueNamesInterleavedSubstringScopes."""
    for top in ("defaultScope1", "defaultScope1", "defaultScope", "defaultScope1"):
        with api.scope(None, top), api.scope(None, "layer"):
            api.get("w", [])


@case
def default_names_reset_when_a_named_parent_exits(api: Api) -> None:
    def model() -> None:
        with api.scope(None, "layer"):
            api.get("w", [1])
        with api.scope(None, "layer"):
            api.get("w", [1])

    with api.scope("net"):
        model()
    with api.scope("net", reuse=True):
        model()
    with api.scope("net"):
        with api.scope(None, "layer"):
            api.current()
    with api.scope("net", reuse=api.AUTO_REUSE):
        model()
        model()


@case
def default_names_restored_after_a_reentered_object(api: Api) -> None:
    with api.scope("foo") as foo:
        pass
    for _ in range(3):
        with api.scope(foo):
            with api.scope(None, "bar"):
                api.get("a", [1])
    with api.scope("foo"):
        with api.scope(None, "bar"):
            api.current()
    with api.scope(None, "foo"):
        api.current()
    with api.scope(foo):
        with api.scope(None, "bar"):
            api.current()
        with api.scope(None, "bar"):
            api.current()
    with api.scope(None, "foo"):
        api.current()


@case
def default_names_after_reentering_a_default_named_scope(api: Api) -> None:
    with api.scope(None, "layer") as layer:
        pass
    with api.scope(layer):
        with api.scope(None, "inner"):
            pass
    with api.scope(None, "layer"):
        pass
    with api.scope(layer):
        with api.scope(None, "inner"):
            pass
    with api.scope(None, "layer"):
        pass


@case
def default_names_with_a_jump_into_the_current_scope(api: Api) -> None:
    """testVarOpScopeUniqueNamesWithJump and rule 9."""
    with api.scope("default") as default:
        with api.scope(None, "layer"):
            api.get("w", [])
        with api.scope(None, "layer"):
            api.get("w", [])
        with api.scope(default):
            pass
        with api.scope(None, "layer"):
            api.get("w", [])
    with api.scope(None, "x"):
        pass
    with api.scope(api.get_variable_scope()):
        pass
    with api.scope(None, "x"):
        pass


@case
def default_name_with_reuse_raises_and_consumes_no_number(api: Api) -> None:
    for reuse in (True, "AUTO"):
        with api.guard(f"reuse={reuse}"), api.scope(None, "d", reuse=as_reuse(api, reuse)):
            api.current()
    api.current()
    with api.scope(None, "d", reuse=False):
        api.current()
    with api.scope(None, "d", reuse=None):
        api.current()
    with api.scope("r", reuse=True):
        with api.scope(None, "d"):
            api.current()
            api.get("v", [1])
        with api.guard("inside reusing"), api.scope(None, "d", reuse=True):
            pass
    with api.scope("a", reuse=api.AUTO_REUSE):
        with api.scope(None, "d"):
            api.current()
            api.get("v", [1])


@case
def name_wins_over_default_name_and_type_errors(api: Api) -> None:
    with api.scope("given", "ignored"):
        api.current()
    with api.scope(None, "ignored"):
        api.current()
    with api.scope("given", "ignored"):
        api.current()
    with api.guard("none"), api.scope(None):
        pass
    with api.guard("int"), api.scope(3):
        pass
    with api.guard("none default"), api.scope(None, None):
        pass
    api.current()


@case
def default_name_with_captured_scope(api: Api) -> None:
    """testVarOpScopeOuterScope: a captured scope with a default_name is just re-entered."""
    with api.scope("outer") as outer:
        pass
    with api.scope(outer, "default"):
        api.get("w", [])
        with api.scope(None, "default"):
            api.get("w", [])
    with api.scope(outer, "default", reuse=True):
        api.get("w", [])
        with api.scope(None, "default"):
            api.get("w", [])


# ---------------------------------------------------------------- shape and dtype on reuse


@case
def shape_and_dtype_checks_on_reuse(api: Api) -> None:
    with api.scope("a"):
        api.get("v", [2, 3])
        api.get("n", [1], dtype="int32")
        api.get("h", [2], dtype="float16")
        api.get("s", [])
    for reuse in (True, "AUTO"):
        with api.scope("a", reuse=as_reuse(api, reuse)):
            for shape in (None, [2, 3], [None, 3], [2, None], [None, None], [2], [3, 2],
                          [2, 3, 1], []):  # fmt: skip
                api.get("v", shape)
            api.get("s", [])
            api.get("s", [1])
            api.get("s", [None])
            api.get("n", [1], dtype="int32")
            api.get("n", [None], dtype="int32")
            api.get("n", [1])
            api.get("n", dtype="float16")
            api.get("h", [2])
            api.get("h", [2], dtype="float16")
            api.get("h", [2], dtype="bfloat16")
    with api.scope("a", reuse=True, dtype="float16"):
        api.get("h", [2])
        api.get("v", [2, 3])
    with api.scope("a", dtype="int32"), api.scope("b"):
        api.get("i", [2])
    with api.scope("a/b", reuse=True):
        api.get("i", [2])
        api.get("i", [2], dtype="int32")


@case
def reuse_ignores_other_arguments(api: Api) -> None:
    with api.scope("a"):
        api.get("v", [2], initializer=api.zeros_initializer(), trainable=False, value=True)
        api.get("w", [2], collections=["foo"], value=False)
    with api.scope("a", reuse=True):
        api.get("v", [2], initializer=api.ones_initializer(), trainable=True)
        api.get("v", initializer=api.constant_initializer(5.0), collections=["bar"])
        api.get("w", [2], trainable=False, collections=[])
        api.get("w", initializer=3.0)  # a constant initializer is ignored on reuse...
        api.get("w", [2], initializer=3.0)  # ...but its shape check is not


@case(x64=True)
def dtype_checks_on_reuse_with_x64(api: Api) -> None:
    with api.scope("a"):
        api.get("d", [1], dtype="float64")
        api.get("l", [1], dtype="int64", value=True)
    with api.scope("a", reuse=True):
        api.get("d", [1])
        api.get("d", [1], dtype="float64")
        api.get("l", [1], dtype="int32")
        api.get("l", [1], dtype="int64")
    with api.scope("a", reuse=True, dtype="float64"):
        api.get("d", [1])


# ------------------------------------------------------------------ constant initializers


@case
def constant_initializer_values(api: Api) -> None:
    for name, init in [
        ("int", 4), ("float", 4.0), ("list", [1, 2, 3]), ("flist", [1.0, 2.0]),
        ("nested", [[1, 2], [3, 4.5]]), ("bool", True), ("bools", [True, False]), ("neg", -3),
        ("np_f32", np.array([1.5, 2.5], np.float32)), ("np_f16", np.float16(2)),
        ("np_i8", np.array([1, 2], np.int8)), ("np_bool", np.array([True])),
        ("np_u8", np.arange(3, dtype=np.uint8).reshape(3, 1)), ("empty_list", []),
        ("tuple", (1, 2)), ("complex", 1j),
    ]:  # fmt: skip
        api.get(name, initializer=init, value=True)


@case
def constant_initializer_with_explicit_dtype(api: Api) -> None:
    for name, init, dtype in [
        ("i32", 4, "int32"), ("i_as_f32", 4, "float32"), ("f32", 4.0, "float32"),
        ("f_as_i32", 4.0, "int32"), ("f_as_f16", 4.0, "float16"), ("l_i32", [1, 2], "int32"),
        ("l_as_f32", [1, 2], "float32"), ("np32", np.array([1.0, 2.0], np.float32), "float32"),
        ("np32_as_f16", np.array([1.0], np.float32), "float16"), ("b_bool", True, "bool"),
        ("b_as_i32", True, "int32"), ("np_i8", np.int8(3), "int8"),
    ]:  # fmt: skip
        api.get(name, initializer=init, dtype=dtype, value=True)
    with api.scope("f16", dtype="float16"):
        api.get("py_float", initializer=2.0, value=True)  # the value decides, not the scope
        api.get("py_list", initializer=[1, 2], value=True)


@case(x64=True)
def constant_initializer_with_64_bit_dtypes(api: Api) -> None:
    for name, init, dtype in [
        ("f_as_f64", 4.0, "float64"), ("l_as_i64", [1, 2, 3], "int64"),
        ("np64", np.array([1, 2, 3], np.int64), "int64"), ("np64_free", np.array([1, 2]), None),
        ("npf64_free", np.array([1.5]), None), ("big", 2**40, None), ("big_i32", 2**40, "int32"),
        ("big_i64", 2**40, "int64"), ("c128", 1j, "complex128"), ("c64", 1j, "complex64"),
    ]:  # fmt: skip
        api.get(name, initializer=init, dtype=dtype, value=True)
    api.get("t_i32_as_f64", initializer=api.const(1, "int32"), dtype="float64")
    api.get("t_f64", initializer=api.const(1.5, "float64"), value=True)


@case
def constant_initializer_must_not_get_a_shape(api: Api) -> None:
    api.get("s1", [1], initializer=[1])
    api.get("s0", [], initializer=4)
    api.get("s3", [3], initializer=np.array([1, 2, 3]))
    api.get("sn", [None], initializer=[1.0])
    api.get("t", [], initializer=api.const(0.1))
    with api.scope("scoped", initializer=api.const(0.5)):
        api.get("v", value=True)
        api.get("w", [1])
        api.get("x", [], dtype="float32")


@case
def constant_tensor_initializers(api: Api) -> None:
    """testInitializeFromValue, plus scope-level tensors and their dtypes (rule 18)."""
    init = api.const(0.1)
    api.get("v", initializer=init, value=True)
    with api.scope("foo", initializer=init):
        api.get("v", value=True)
        api.get("as_int", dtype="int32", value=True)  # scope tensor: explicit dtype ignored
        api.get("own", initializer=api.const(2, "int32"), value=True)
    t = api.const(1, "int32")
    api.get("t", initializer=t, value=True)
    api.get("s", initializer=t, dtype="float32")
    api.get("s16", initializer=t, dtype="float16")
    with api.scope("h", dtype="float16"):
        api.get("t", initializer=api.const(3, "int32"), value=True)
        api.get("f", initializer=api.const([1.0, 2.0]), value=True)
    with api.scope("pyscope", initializer=4):
        api.get("x", value=True)
        api.get("y", dtype="float32", value=True)


@case
def constant_initializer_objects(api: Api) -> None:
    ci = api.constant_initializer
    api.get("a", [], initializer=ci(0.3), value=True)
    api.get("b", [2, 2], initializer=ci([1, 2, 3, 4]), value=True)
    api.get("c", [2], dtype="int32", initializer=ci(1), value=True)
    api.get("d", [2], dtype="int32", initializer=ci(1.0))
    api.get("e", [2], dtype="int32", initializer=ci(1.5))
    api.get("f", [2], dtype="bool", initializer=ci(True), value=True)
    api.get("g", initializer=ci(1.0))
    api.get("h", [None], initializer=ci(1.0))
    api.get("i", [3], initializer=ci([1, 2, 3], dtype="int32"), value=True)
    api.get("j", [2], dtype="float16", initializer=ci(0.5), value=True)
    api.get("k", [2, 3], initializer=ci(np.arange(6).reshape(2, 3)), value=True)
    api.get("l", [2], dtype="int8", initializer=ci(-1), value=True)
    api.get("m", [0], initializer=ci(7.0), value=True)
    with api.scope("ones", initializer=api.ones_initializer()):
        api.get("f", [2], value=True)
        api.get("i", [2], dtype="int32", value=True)
        api.get("b", [2], dtype="bool", value=True)
        api.get("h", [2], dtype="float16", value=True)
    with api.scope("c1", initializer=ci(1.0)):
        api.get("f", [2], value=True)
        api.get("i", [2], dtype="int32")
    with api.scope("zeros", initializer=api.zeros_initializer()):
        api.get("i", [2], dtype="uint8", value=True)
        api.get("c", [2], dtype="complex64", value=True)


@case
def initializer_inheritance(api: Api) -> None:
    """testVarScopeInitializer: scope initializers are inherited and kept on re-entry."""
    init = api.constant_initializer(0.3)
    with api.scope("tower0") as tower:
        with api.scope("foo", initializer=init):
            api.get("v", [], value=True)
            with api.scope("sub"):
                api.get("u", [], value=True)
            api.get("own", [], initializer=api.constant_initializer(0.5), value=True)
        with api.scope(tower, initializer=init):
            api.get("w", [], value=True)
        with api.scope(tower):
            api.get("x", [], dtype="int32", value=True)  # initializer not kept on the object
    with api.scope("tower1", initializer=api.ones_initializer()) as t1:
        pass
    with api.scope(t1):
        api.get("v", [2], value=True)
    with api.scope(t1, initializer=api.zeros_initializer()):
        api.get("w", [2], value=True)


# ------------------------------------------------------------------ callable initializers


@case
def callable_initializers_without_shape(api: Api) -> None:
    api.get("noargs", initializer=lambda: [2], value=True)
    api.get("optional", initializer=lambda x=True: [2], value=True)
    api.get("required", initializer=lambda x: [2])
    api.get("float", initializer=lambda: 3.0, value=True)
    api.get("np16", initializer=lambda: np.ones((2, 2), np.float16), value=True)
    api.get("bool", initializer=lambda: True, value=True)
    api.get("nested", initializer=lambda: [[1, 2], [3, 4]], value=True)
    api.get("with_i32", initializer=lambda: [2], dtype="int32", value=True)
    api.get("fl_with_i32", initializer=lambda: [2.0], dtype="int32", value=True)
    api.get("i_with_f32", initializer=lambda: [2], dtype="float32", value=True)
    api.get("kwargs", initializer=lambda **kw: [5], value=True)
    api.get("varargs", initializer=lambda *a: [6], value=True)
    with api.scope("s", initializer=lambda: [7]):
        api.get("scoped", value=True)


@case
def callable_initializers_with_shape(api: Api) -> None:
    api.get("zero_arg", [1], initializer=lambda: [2])
    api.get("tf_style", [2], initializer=lambda shape, dtype=None, partition_info=None:
            np.full(shape, 2.0), value=True)  # fmt: skip
    api.get("tf_style_no_info", [2, 1], initializer=lambda shape, dtype=None: np.zeros(shape),
            value=True)  # fmt: skip
    api.get("tf_style_int", [3], dtype="int32",
            initializer=lambda shape, dtype=None, partition_info=None: np.arange(shape[0]),
            value=True)  # fmt: skip
    api.get("zeros_no_shape", initializer=api.zeros_initializer())
    api.get("zeros_partial", [None, 2], initializer=api.zeros_initializer())


# ------------------------------------------------------------------ default initializers


@case
def default_initializers_per_dtype(api: Api) -> None:
    for dtype in ("float32", "float16", "bfloat16"):
        api.get(dtype, [2, 3], dtype=dtype)
    for dtype in ("int8", "uint8", "int16", "uint16", "int32", "bool"):
        api.get(dtype, [2, 3], dtype=dtype, value=True)
    for dtype in ("complex64", "complex128"):
        api.get(dtype, [2], dtype=dtype)
    api.get("no_shape")
    api.get("no_shape_i32", dtype="int32")
    with api.scope("i", dtype="int32"):
        api.get("v", [2], value=True)
        with api.scope("j"):
            api.get("w", [], value=True)
    with api.scope("c", dtype="complex64"):
        api.get("v", [2])


@case
def partial_shape_without_initializer(api: Api) -> None:
    # TF fills in the default initializer first, so a partial shape fails the initializer check
    # ("The initializer passed is not valid"), while shape=None says "must be specified".
    api.get("partial", [None, 3])
    api.get("partial_i32", [2, None], dtype="int32")
    api.get("unknown_rank_1", [None])


@case(x64=True)
def default_initializers_for_64_bit_dtypes(api: Api) -> None:
    api.get("f64", [2], dtype="float64")
    api.get("i64", [2], dtype="int64", value=True)
    api.get("u32", [2], dtype="uint32", value=True)
    api.get("u64", [2], dtype="uint64", value=True)


@case
def scope_dtype_inheritance(api: Api) -> None:
    """testVarScopeDType, plus nesting and re-entry."""
    with api.scope("tower2") as tower:
        with api.scope("foo", dtype="float16"):
            api.get("v", [])
            with api.scope("sub"):
                api.get("u", [])
            api.get("own", [], dtype="float32")
        with api.scope(tower, dtype="float16"):
            api.get("w", [])
        with api.scope(tower):
            api.get("x", [])
    with api.scope("h", dtype="bfloat16") as h:
        pass
    with api.scope(h):
        api.get("v", [1])
    with api.scope("h", reuse=True):
        api.get("v", [1])


# ------------------------------------------------------------------ collections / trainable


@case
def collections_and_trainable(api: Api) -> None:
    api.get("default", [1])
    api.get("empty", [1], collections=[])
    api.get("local", [1], collections=["local_variables"])
    api.get("custom", [1], collections=["foo"])
    api.get("frozen", [1], trainable=False)
    api.get("custom_frozen", [1], collections=["foo", "bar"], trainable=False)
    api.get("global_and_custom", [1], collections=["variables", "foo"])
    api.get("explicit_trainable", [1], trainable=True, collections=["trainable_variables"])
    api.get("int", [1], dtype="int32")
    api.get("bool", [1], dtype="bool", trainable=False)
    api.get("empty_frozen", [1], collections=[], trainable=False)
    with api.scope("s"):
        api.get("v", [1], collections=["foo"])
    with api.scope("s", reuse=True):
        api.get("v", [1], trainable=False, collections=["bar"])  # ignored on reuse


# ----------------------------------------------------------------------- name validation


@case
def name_validation(api: Api) -> None:
    with api.guard("root scope _x"), api.scope("_x"):
        pass
    with api.guard("root scope with space"), api.scope("a b"):
        pass
    with api.guard("root default _d"), api.scope(None, "_d"):
        pass
    api.get("_y", [1])
    api.get("a b", [1])
    for ok in ("1a", ".x", "a-b", "a.b", "x>y", "A_9"):
        api.get(ok, [1])
    with api.scope("1s"), api.scope(".t"):
        api.current()
    with api.scope("a"):
        with api.scope("_x"):
            api.get("_z", [1])
        api.get("_w", [1])
        with api.scope(None, "_d"):
            api.current()
        with api.guard("inner scope with space"), api.scope("b c"):
            pass
        api.get("b c", [1])
        api.get("-minus", [1])
        with api.guard("inner scope -minus"), api.scope("-m"):
            api.current()


@case
def reentering_an_underscore_scope_at_the_root(api: Api) -> None:
    # Re-entering a captured scope opens a name scope named after its last component inside the
    # current name scope (rule 14); at the root, TF validates that as a root name, so "_s" fails.
    with api.scope("a"):
        with api.scope("_s") as s:
            api.get("v", [1])
        with api.scope(None, "_d") as d:
            pass
    with api.guard("re-enter a/_s at the root"), api.scope(s):
        api.current()
    with api.guard("re-enter a/_d at the root"), api.scope(d):
        api.current()
    with api.scope("b"), api.scope(s):  # fine inside a scope
        api.current()
    with api.scope(s, auxiliary_name_scope=False):  # and without a name scope
        api.current()


@case
def invalid_root_name_is_checked_after_shape_and_initializer(api: Api) -> None:
    # TF validates the variable's name when it creates the variable op, i.e. after the shape,
    # initializer and dtype checks: each of these fails with the other error first.
    api.get("_u")
    api.get("_u", [None, 2])
    api.get("_u", [1], dtype="complex64")
    api.get("_u", initializer=lambda x: 1)
    api.get("_u", [1], initializer=4)
    api.get("_u", initializer=4.0, dtype="int32")


@case
def improper_nesting_leaves_the_scopes_intact(api: Api) -> None:
    """testVarScopeNestingError: a refused out-of-order __exit__ changes nothing."""
    with api.scope("aa"):
        bb = api.raw_scope("bb")
        bb.__enter__()
        with api.scope("cc"):
            try:
                bb.__exit__(None, None, None)
            except RuntimeError:
                api.note("RuntimeError")
            api.current()
            api.get("v", [1])
        api.current()
        bb.__exit__(None, None, None)
        api.current()
        api.get("v", [1])
    api.current()


@case
def non_callable_custom_getter(api: Api) -> None:
    """testNonCallableGetterFails: accepted by variable_scope, refused by get_variable."""
    with api.scope("scope0", custom_getter=3):
        api.current()
        api.get("name0", [1])
    api.get("name0", [1], custom_getter=3)


# ------------------------------------------------------------------ ported TF programs


@case
def tf_test_var_scope_get_var(api: Api) -> None:
    """testVarScopeGetVar."""
    with api.scope("root"):
        with api.scope("towerA") as tower_a:
            api.get("v", [1])
        with api.scope(tower_a, reuse=True):
            api.get("v", [1])
        with api.scope("towerB"):
            api.get("v", [1])
        with api.guard("towerA again"), api.scope("towerA"):
            api.get("v", [1])
        with api.scope("towerA", reuse=True):
            api.get("v", [1])
        with api.scope("foo"), api.scope("bar"):
            api.get("v", [1])
            with api.scope(tower_a, reuse=True):
                api.get("v", [1])
        with api.scope(tower_a, reuse=True), api.scope("baz"):
            api.get("v", [1])
        with api.scope(tower_a, reuse=True):
            api.get("v", [2])
            api.get("v", [1], dtype="int32")


@case
def tf_test_var_scope_outer_scope(api: Api) -> None:
    """testVarScopeOuterScope and testVarScopeNestedOuterScope."""
    with api.scope("outer") as outer:
        pass
    with api.scope(outer):
        api.get("w", [])
        with api.scope("default"):
            api.get("w", [])
    with api.scope(outer, reuse=True):
        api.get("w", [])
        with api.scope("default", reuse=True):
            api.get("w", [])
    with api.scope("nested") as nested:
        with api.scope(nested):
            api.get("w", [])
        with api.scope("default"):
            api.get("w", [])
        with api.scope(nested, reuse=True):
            api.get("w", [])
        with api.scope("default", reuse=True):
            api.get("w", [])


@case
def tf_test_var_scope_object_reuse(api: Api) -> None:
    """testVarScopeObjectReuse."""
    for reuse in (True, False):
        with api.scope("jump", reuse=reuse) as vs:
            pass
        for override in (None, True, False):
            with api.scope(vs, reuse=override):
                pass


@case
def tf_test_var_op_scope_reuse(api: Api) -> None:
    """testVarOpScopeReuse."""
    with api.scope("outer") as outer:
        with api.scope("tower", "default"):
            api.get("w", [])
        with api.scope(None, "default"):
            api.get("w", [])
    with api.scope(outer, reuse=True):
        with api.scope("tower", "default"):
            api.get("w", [])
        with api.scope(None, "default"):
            api.get("w", [])


@case
def tf_test_get_collection_prefixes(api: Api) -> None:
    """testGetCollection's variables (scopejax filters by prefix like scope.get_collection)."""
    api.get("testGetCollection_a", [])
    api.get("testGetCollection_b", [], trainable=False)
    with api.scope("testGetCollection_foo_"):
        api.get("testGetCollection_a", [])
        api.get("testGetCollection_b", [], trainable=False)
    with api.scope("testGetCollection_foo"):
        api.get("testGetCollection_a", [])
        api.get("testGetCollection_b", [], trainable=False)


@pytest.mark.parametrize(("prog", "x64"), CASES)
def test_program(prog: Program, x64: bool) -> None:
    assert_same(prog, x64=x64)


# ------------------------------------------------------------------ random programs


# Example counts come from the hypothesis profile (root conftest): derandomized in CI,
# HYPOTHESIS_PROFILE=long for 2,000 random programs locally.
@settings(deadline=None)
@given(programs())
def test_random_programs(nodes: list[Any]) -> None:
    assert_same(program(nodes))


@settings(deadline=None, max_examples=40)
@given(programs(depth=2, max_size=4))
def test_random_programs_run_twice_under_auto_reuse(nodes: list[Any]) -> None:
    # The property suite checks that AUTO_REUSE is idempotent for scopejax; this checks that
    # TF agrees on everything a second run does (sharing, new default names, errors).
    def twice(api: Api) -> None:
        for _ in range(2):
            with api.scope("m", reuse=api.AUTO_REUSE):
                program(nodes)(api)

    assert_same(twice)
