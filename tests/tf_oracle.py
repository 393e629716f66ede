"""Runs one TF1-style scope program on real ``tf.compat.v1`` (graph mode) and on scopejax.

A *program* is a function ``prog(api)`` that only talks to an :class:`Api` object:

* ``api.scope(name_or_scope, default_name=None, **kwargs)`` -- ``variable_scope``; records the
  name and reuse mode of the scope it yields, and yields the engine's own scope object (so it can
  be captured, re-entered and ``reuse_variables()``-ed like in TF).
* ``api.get(name, shape=None, *, value=False, **kwargs)`` -- ``get_variable``; records the new
  variable (name, shape, dtype, collections, and its value if ``value=True``) or the index of the
  earlier variable it returned, or the error it raised (then returns None).
* ``api.guard()`` -- a block whose ValueError/TypeError is recorded and swallowed (for errors
  raised when a scope is entered: the rest of the block is skipped, like ``assertRaises``).
* ``api.current()``, ``api.note(...)``, ``api.reuse_of(scope)`` -- record facts.
* ``api.raw_scope(...)`` -- the engine's unentered ``variable_scope`` object (nesting tests).
* ``api.AUTO_REUSE``, ``api.zeros_initializer()``, ``api.ones_initializer()``,
  ``api.constant_initializer(value, dtype=None)``, ``api.const(value, dtype=None)`` (a TF constant
  tensor / a NumPy array), ``api.get_variable_scope()``; dtypes are given as strings.

Both engines run the same program; the two event logs must be equal. Errors are compared by
builtin base type plus a key phrase (and the variable named in it), since the wording differs on
purpose ("reuse=tf.AUTO_REUSE" vs "reuse=AUTO_REUSE", hints appended by scopejax).

TensorFlow is imported lazily (only :func:`run_tf` needs it), so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import scopejax as sj

Program = Callable[["Api"], Any]

# Key phrases shared by TF's and scopejax's messages, most specific first.
KEY_PHRASES = (
    "already exists",
    "does not exist",
    "Trying to share variable",
    "don't match",
    "do not specify shape",
    "must be specified",
    "must be fully defined",
    "initializer passed is not valid",
    "reuse parameter must be",
    "cannot be used without a name_or_scope",
    "is not a valid root scope name",
    "is not a valid scope name",
    "If default_name is None then name_or_scope is required",
    "name_or_scope must be a string or VariableScope",
    "An initializer for variable",
    "Passed a custom_getter which is not callable",
    "Improper nesting of variable_scope",
    "Expected",
)
# TF calls a callable initializer as init(shape, dtype=...), scopejax calls one whose first
# parameter is not named `shape` JAX-style as init(key, shape, dtype): a zero-argument callable
# given together with a shape fails in both with a TypeError, worded differently.
_BAD_CALL = ("unexpected keyword argument", "positional argument")
_NAMED = (
    re.compile(r"Variable (\S+?) (?:already exists|does not exist)"),
    re.compile(r"Trying to share variable (\S+?),"),
)


def error_key(e: BaseException) -> tuple[Any, ...]:
    """(builtin base type, key phrase[, detail]) of an error, comparable across engines."""
    kind = next((t.__name__ for t in (ValueError, TypeError) if isinstance(e, t)), None)
    kind = kind or next(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins")
    msg = str(e)
    if isinstance(e, TypeError) and any(p in msg for p in _BAD_CALL):
        return (kind, "initializer called with the wrong arguments")
    phrase = next((p for p in KEY_PHRASES if p in msg), None)
    if phrase is None:
        return (kind, f"<no key phrase> {msg[:300]}")
    detail: tuple[Any, ...] = ()
    for pattern in _NAMED:
        m = pattern.search(msg)
        if m:
            detail += (m.group(1),)
            break
    if phrase == "Trying to share variable":
        detail += ("shape" if "specified shape" in msg else "dtype",)
    return (kind, phrase, *detail)


class Api:
    """What a program sees; records events. ``engine`` supplies the TF or scopejax functions."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.events: list[tuple[Any, ...]] = []
        self.AUTO_REUSE = engine.AUTO_REUSE

    # -- engine objects ------------------------------------------------------------------------
    def zeros_initializer(self) -> Any:
        return self._engine.zeros_initializer()

    def ones_initializer(self) -> Any:
        return self._engine.ones_initializer()

    def constant_initializer(self, value: Any, dtype: str | None = None) -> Any:
        if dtype is None:
            return self._engine.constant_initializer(value)
        return self._engine.constant_initializer(value, dtype=self._engine.dtype(dtype))

    def const(self, value: Any, dtype: str | None = None) -> Any:
        return self._engine.const(value, None if dtype is None else self._engine.dtype(dtype))

    def get_variable_scope(self) -> Any:
        return self._engine.get_variable_scope()

    # -- recorded operations -------------------------------------------------------------------
    def reuse_of(self, scope: Any) -> str:
        r = scope.reuse
        if r is self._engine.AUTO_REUSE:
            return "AUTO"
        return repr(r)

    def note(self, *facts: Any) -> None:
        self.events.append(("note", *facts))

    def current(self) -> None:
        s = self._engine.get_variable_scope()
        self.events.append(("current", s.name, self.reuse_of(s)))

    def _convert(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(kwargs.get("dtype"), str):
            kwargs["dtype"] = self._engine.dtype(kwargs["dtype"])
        return kwargs

    @contextlib.contextmanager
    def scope(self, name_or_scope: Any, default_name: str | None = None,
              **kwargs: Any) -> Iterator[Any]:  # fmt: skip
        cm = self._engine.variable_scope(name_or_scope, default_name, **self._convert(kwargs))
        with cm as s:
            self.events.append(("scope", s.name, self.reuse_of(s)))
            yield s
        self.events.append(("exit", self._engine.get_variable_scope().name))

    def raw_scope(self, name_or_scope: Any, default_name: str | None = None,
                  **kwargs: Any) -> Any:  # fmt: skip
        """The engine's own ``variable_scope(...)`` object, for explicit ``__enter__/__exit__``."""
        return self._engine.variable_scope(name_or_scope, default_name, **self._convert(kwargs))

    @contextlib.contextmanager
    def guard(self, label: str = "") -> Iterator[None]:
        try:
            yield
        except (ValueError, TypeError) as e:
            self.events.append(("error", label, *error_key(e)))

    def get(self, name: str, shape: Any = None, *, value: bool = False, **kwargs: Any) -> Any:
        try:
            var = self._engine.get_variable(name, shape, **self._convert(kwargs))
        except (ValueError, TypeError) as e:
            self.events.append(("error", f"get {name}", *error_key(e)))
            return None
        self.events.append(("var", var, value))
        return var


def _run(prog: Program, api: Api) -> None:
    """Runs ``prog``; an exception escaping it becomes the log's last event."""
    try:
        prog(api)
    except Exception as e:  # compared against the other engine's log
        api.events.append(("uncaught", *error_key(e)))


def _resolve(events: list[tuple[Any, ...]], describe: Callable[[Any], tuple[Any, ...]],
             values: dict[int, Any]) -> list[tuple[Any, ...]]:  # fmt: skip
    """Replaces variable objects by ("new", k, name, shape, dtype, collections[, value]) or
    ("same", k, name) where k numbers the distinct variables in order of first appearance."""
    seen: list[Any] = []
    out = []
    for ev in events:
        if ev[0] != "var":
            out.append(ev)
            continue
        var, want_value = ev[1], ev[2]
        k = next((i for i, o in enumerate(seen) if o is var), None)
        if k is not None:
            out.append(("same", k, describe(var)[0]))
            continue
        seen.append(var)
        row = ("new", len(seen) - 1, *describe(var))
        if want_value:
            row += (np.asarray(values[id(var)]).tolist(),)
        out.append(row)
    return out


def _canonical(dtype_name: str) -> str:
    """A dtype name as JAX stores it under the current x64 setting (int64 -> int32 if off)."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.dtype(dtype_name))).name


# ------------------------------------------------------------------------------------ scopejax


class _SJEngine:
    AUTO_REUSE = sj.AUTO_REUSE
    variable_scope = staticmethod(sj.variable_scope)
    get_variable = staticmethod(sj.get_variable)
    get_variable_scope = staticmethod(sj.get_variable_scope)
    zeros_initializer = staticmethod(sj.zeros_initializer)
    ones_initializer = staticmethod(sj.ones_initializer)
    constant_initializer = staticmethod(sj.constant_initializer)

    @staticmethod
    def dtype(name: str) -> Any:
        return jnp.dtype(name)

    @staticmethod
    def const(value: Any, dtype: Any) -> Any:
        """A NumPy array standing in for ``tf.constant`` (Python ints/floats -> int32/float32)."""
        if dtype is None and not isinstance(value, np.ndarray | np.generic):
            dtype = {"i": np.int32, "f": np.float32}.get(np.asarray(value).dtype.kind)
        return np.asarray(value, dtype=dtype)


def scopejax_api() -> Api:
    """An ``Api`` over scopejax, for running programs inside the caller's own transform."""
    return Api(_SJEngine)


def run_program(prog: Program, api: Api) -> None:
    """Runs ``prog`` on ``api``; an exception escaping it becomes the log's last event."""
    _run(prog, api)


def run_scopejax(prog: Program, *, x64: bool = False) -> list[tuple[Any, ...]]:
    """The event log of ``prog`` run by ``scopejax.transform(...).init``."""

    def fn() -> Api:
        api = Api(_SJEngine)
        _run(prog, api)
        return api

    with jax.enable_x64(x64):
        api, params = sj.transform(fn).init_with_output(jax.random.key(0))
        by_id = {id(v): n for n, v in params.items()}

        def describe(var: Any) -> tuple[Any, ...]:
            name = by_id.get(id(var), "<not in the ParamStore>")
            if name not in params:
                return (name, tuple(np.shape(var)), _canonical(str(var.dtype)), ())
            info = params.info(name)
            return (name, info.shape, info.dtype.name, tuple(sorted(info.collections)))

        values = {id(v): v for v in params.values()}
        return _resolve(api.events, describe, values)


# ------------------------------------------------------------------------------------ TensorFlow


class _TFEngine:
    def __init__(self, tf: Any) -> None:
        tf1 = tf.compat.v1
        self._tf = tf
        self.AUTO_REUSE = tf1.AUTO_REUSE
        self.variable_scope = tf1.variable_scope
        self.get_variable = tf1.get_variable
        self.get_variable_scope = tf1.get_variable_scope
        self.zeros_initializer = tf1.zeros_initializer
        self.ones_initializer = tf1.ones_initializer
        self.constant_initializer = tf1.constant_initializer

    def dtype(self, name: str) -> Any:
        return self._tf.as_dtype(name)

    def const(self, value: Any, dtype: Any) -> Any:
        return self._tf.constant(value, dtype=dtype)


def run_tf(prog: Program, *, x64: bool = False) -> list[tuple[Any, ...]]:
    """The event log of ``prog`` run by ``tf.compat.v1`` in a fresh graph (graph mode)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        api = Api(_TFEngine(tf))
        _run(prog, api)
        variables = [ev[1] for ev in api.events if ev[0] == "var"]
        wanted = list({id(v): v for ev in api.events if ev[0] == "var" and ev[2]
                       for v in [ev[1]]}.values())  # fmt: skip
        values: dict[int, Any] = {}
        if wanted:
            with tf1.Session(graph=g) as sess:
                sess.run(tf1.variables_initializer(wanted))
                values = {id(v): x for v, x in zip(wanted, sess.run(wanted), strict=True)}
        collections: dict[int, list[str]] = {id(v): [] for v in variables}
        for key in g.get_all_collection_keys():
            for x in g.get_collection(key):
                if id(x) in collections and any(x is v for v in variables):
                    collections[id(x)].append(key)

    def describe(var: Any) -> tuple[Any, ...]:
        name = var.name[:-2] if var.name.endswith(":0") else var.name
        with jax.enable_x64(x64):
            dtype = _canonical(var.dtype.base_dtype.name)
        return (name, tuple(var.shape.as_list()), dtype, tuple(sorted(set(collections[id(var)]))))

    return _resolve(api.events, describe, values)


def assert_same(prog: Program, *, x64: bool = False) -> list[tuple[Any, ...]]:
    """Runs ``prog`` on both engines and asserts equal event logs; returns the TF log."""
    tf_log = run_tf(prog, x64=x64)
    sj_log = run_scopejax(prog, x64=x64)
    if sj_log != tf_log:
        width = max((len(repr(e)) for e in tf_log), default=10)
        lines = [f"{'TensorFlow':<{width}} | scopejax"]
        for i in range(max(len(tf_log), len(sj_log))):
            a = repr(tf_log[i]) if i < len(tf_log) else ""
            b = repr(sj_log[i]) if i < len(sj_log) else ""
            mark = "  " if a == b else "!!"
            lines.append(f"{a:<{width}} {mark} {b}")
        raise AssertionError("scopejax disagrees with TensorFlow:\n" + "\n".join(lines))
    return tf_log
