"""How get_variable uses an initializer argument: TF1's default initializer by dtype, TF's dtype
inference for constant initializers, and calling any supported initializer (ours, JAX-style
``init(key, shape, dtype)``, TF1-style ``init(shape, dtype=...)``) with its result checked.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src.errors import InitializerError, InitializerTypeError, ScopeJaxError
from scopejax._src.initializers import (
    _PY_LEVEL,
    DTypeLike,
    TFInitializer,
    _as_shape,
    _canonical,
    _is_float,
    _np_dtype,
    glorot_uniform_initializer,
    zeros_initializer,
)


def default_initializer(dtype: DTypeLike, name: str) -> TFInitializer:
    """Returns TF1's initializer for a variable created without one.

    Floating dtypes get ``glorot_uniform_initializer()``, integer and bool dtypes
    ``zeros_initializer()``; complex variables need an explicit initializer.

    >>> default_initializer(jnp.int32, "step")
    Zeros(dtype=float32)

    TF1 equivalent: ``VariableScope._get_default_initializer``.

    Raises:
      InitializerError: for complex dtypes (TF's ValueError text).
      InitializerTypeError: for dtypes a JAX array cannot hold.
    """
    dt = _np_dtype(dtype)
    default = _default_for(dt)
    if default is not None:
        return default
    if jnp.issubdtype(dt, jnp.complexfloating):
        raise InitializerError(
            f"An initializer for variable {name} of <dtype: '{dt.name}'> is required. Complex "
            "variables have no default; pass one, e.g. initializer=zeros_initializer()."
        )
    raise InitializerTypeError(f"Variable {name} has dtype {dt}, which JAX arrays cannot hold.")


@functools.lru_cache(maxsize=64)
def _default_for(dt: np.dtype) -> TFInitializer | None:
    """One shared (immutable) default initializer per dtype: get_variable asks for it a lot."""
    if _is_float(dt):
        return glorot_uniform_initializer()
    if dt == np.bool_ or jnp.issubdtype(dt, jnp.integer):
        return zeros_initializer()
    return None


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def constant_dtype(value: Any) -> np.dtype:
    """Returns the dtype TF1 infers for a non-callable initializer (``tf.convert_to_tensor``).

    Python bool → bool, int → int32 (int64 beyond int32), float → float32, complex → complex128;
    (nested) lists and tuples follow TF's order-dependent rule: after a bool only bools, a
    complex only after a complex first element (``[1, 1j]`` fails, ``[1j, 1]`` is complex), ints
    then floats give float; with NumPy elements NumPy promotion applies. NumPy and JAX values
    keep their dtype. The result is canonicalised for JAX.

    >>> constant_dtype([[1, 2], [3, 4.5]]), constant_dtype(7), constant_dtype(np.int8(1))
    (dtype('float32'), dtype('int32'), dtype('int8'))

    TF1 equivalent: the dtype of ``tf.convert_to_tensor(value)``.
    """
    if isinstance(value, jax.Array | np.ndarray | np.generic):
        return _canonical(value.dtype)
    leaves = _leaves(value)
    if any(isinstance(leaf, jax.Array | np.ndarray | np.generic) for leaf in leaves):
        return _canonical(np.result_type(*leaves))
    levels = [next((v for t, v in _PY_LEVEL.items() if isinstance(x, t)), -1) for x in leaves]
    if -1 in levels:
        bad = leaves[levels.index(-1)]
        raise InitializerTypeError(
            f"Cannot infer a dtype from {bad!r} of type {type(bad).__name__}: initializer values "
            "must be numbers, bools or (nested) lists of them."
        )
    top = levels[0] if levels else 2  # tf.convert_to_tensor([]) is float32
    for level in levels:  # TF's order-dependent rule: the first element sets the kind
        if (top == 0 and level != 0) or (level == 3 and top != 3):
            raise InitializerError("Can't convert Python sequence with mixed types to Tensor.")
        top = max(top, level)
    if top == 1 and any(not -(2**31) <= x < 2**31 for x in leaves):
        return _canonical(np.int64)
    return _canonical([np.bool_, np.int32, np.float32, np.complex128][top])


_STYLE_CACHE: dict[Any, tuple[bool, bool]] = {}


def _call_style(init: Any) -> tuple[bool, bool]:
    """Returns (TF1 style: first positional parameter named `shape`, accepts `partition_info`).

    Cached under a key that determines the signature (a function's code object, or the class
    of a callable instance), never under ``init`` itself, which may be unhashable.
    """
    key = None
    if not (hasattr(init, "__wrapped__") or hasattr(init, "__signature__")):
        if type(init) is types.FunctionType:
            key = init.__code__
        elif not isinstance(init, type) and isinstance(
            getattr(type(init), "__call__", None), types.FunctionType  # noqa: B004
        ):
            key = type(init)
    if key is not None and (style := _STYLE_CACHE.get(key)) is not None:
        return style
    try:
        params = list(inspect.signature(init).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    style = (
        bool(positional) and positional[0].name == "shape",
        any(p.kind is p.VAR_KEYWORD or p.name == "partition_info" for p in params),
    )
    if key is not None and len(_STYLE_CACHE) < 4096:
        _STYLE_CACHE[key] = style
    return style


def call_initializer(init: Any, key: jax.Array | None, shape: Any, dtype: DTypeLike,
                     partition_info: Any = None) -> jax.Array:  # fmt: skip
    """Calls any supported initializer and checks its result; the getter's single entry point.

    `TFInitializer` objects and JAX-style callables (e.g. ``jax.nn.initializers.lecun_normal()``)
    are called as ``init(key, shape, dtype)``. TF1-style callables, whose first positional
    parameter is named ``shape``, are called as ``init(list(shape), dtype=dtype)`` (plus
    ``partition_info=None`` when accepted) and get no key. A class (``zeros_initializer``
    without parentheses) is instantiated first, as in TF1. The result must have ``shape``; it
    is converted to the canonical ``dtype``.

    >>> call_initializer(lambda shape, dtype=None: np.ones(shape), None, (2,), jnp.float32)
    Array([1., 1.], dtype=float32)

    ``partition_info`` (a shard of a partitioned variable: ``full_shape``, ``var_offset``) goes to
    TF1-style callables that accept it and to variance-scaling initializers, whose fans then come
    from the full shape, as in TF1.

    TF1 equivalent: ``get_variable`` calling ``initializer(shape, dtype=..., partition_info=...)``.

    Raises:
      InitializerTypeError: calling ``init`` raised a TypeError (chained).
      InitializerError: the result does not have ``shape``.
    """
    shape, dt = _as_shape(shape), _canonical(dtype)
    if isinstance(init, type):
        init = init()
    if isinstance(init, TFInitializer) and partition_info is not None and init.uses_full_shape:
        how = "init(key, shape, dtype, partition_info)"
        call = lambda: init(key, shape, dt, partition_info=partition_info)
        hint = ""
    elif isinstance(init, TFInitializer) or not (style := _call_style(init))[0]:
        how, call = "init(key, shape, dtype)", lambda: init(key, shape, dt)
        hint = "TF1-style initializers must name their first parameter `shape`"
    else:
        kwargs: dict[str, Any] = {"dtype": dt, "partition_info": partition_info}
        if not style[1]:
            del kwargs["partition_info"]
        how = f"init(shape, {'=..., '.join(kwargs)}=...)"
        call = lambda: init(list(shape), **kwargs)  # TF1 passes shape.as_list()
        hint = "TF1-style initializers are called like tf.compat.v1.get_variable calls them"
    try:
        out = call()
    except ScopeJaxError:
        raise
    except TypeError as e:
        raise InitializerTypeError(
            f"Calling initializer {init!r} as `{how}` with shape={shape}, dtype={dt.name} raised "
            f"TypeError: {e} ({hint})."
        ) from e
    if (found := tuple(np.shape(out))) != shape:
        raise InitializerError(
            f"initializer returned shape {found} but the variable has shape {shape} "
            f"(initializer {init!r})."
        )
    if isinstance(out, jax.Array) and out.dtype == dt and not jax.typeof(out).weak_type:
        return out  # what jnp.asarray would return, without a convert_element_type under a trace
    return jnp.asarray(out, dtype=dt)
