"""The get_variable core: TF1's ``VariableScope.get_variable`` and ``_true_getter`` as pure logic.

Everything here works on a ``VariableSource`` (where existing variables are found and new ones
go) and a ``Scope`` value; nothing reads implicit context. The TF1-style ``get_variable``, the
pure ``scopejax.pure.get_variable`` and both ``init`` and ``apply`` are thin callers of
:func:`scope_get_variable`, so reuse checks run identically everywhere.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import names, partitioned, partitioners
from scopejax._src import reuse as reuse_table
from scopejax._src.errors import (
    CustomGetterError,
    DtypeMismatchError,
    InitializerError,
    InitializerTypeError,
    ScopeJaxError,
    ScopeTypeError,
    ShapeMismatchError,
    call_user,
)
from scopejax._src.initializer_calls import call_initializer, constant_dtype, default_initializer
from scopejax._src.initializers import TFInitializer
from scopejax._src.scope import AUTO_REUSE, ReuseMode, Scope
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

Shape = tuple[int | None, ...]


class VariableSource(Protocol):
    """Where ``get_variable`` finds variables created earlier and puts new ones."""

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        """The value and info of ``name`` if it was created earlier, else None."""

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        """Creates ``name``: ``make_value(key)`` computes the initial value where one is needed.

        ``needs_key`` is False when the initializer is known to be deterministic, so the source
        may pass ``None`` instead of deriving the variable's key.
        """

    def known_names(self) -> Iterable[str]:
        """Names for "closest name" hints in errors."""


def canonical_dtype(dtype: Any, what: str) -> np.dtype:
    """``np.dtype`` of a user dtype, canonicalised as JAX stores it; TypeError naming ``what``."""
    try:
        return np.dtype(jax.dtypes.canonicalize_dtype(np.dtype(dtype)))
    except TypeError as e:
        raise ScopeTypeError(
            f"Invalid dtype {dtype!r} for {what}: {e}. Pass a numpy/jax dtype such as "
            "jnp.float32 or 'int32'."
        ) from None


def as_shape(shape: Any, what: str) -> Shape | None:
    """Validates a shape argument: None, an int, or a sequence of non-negative ints (or None)."""
    if shape is None:
        return None
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence | np.ndarray) or isinstance(shape, str):
        raise ScopeTypeError(
            f"shape of {what} must be a sequence of ints (or None), got {type(shape).__name__} "
            f"{shape!r}."
        )
    dims = []
    for d in shape:
        if d is None:
            dims.append(None)
        elif isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        else:
            raise ScopeTypeError(
                f"shape of {what} must hold non-negative ints (or None for an unknown "
                f"dimension when reusing), got {tuple(shape)!r}."
            )
    return tuple(dims)


def _compatible(requested: Shape, found: tuple[int, ...]) -> bool:
    return len(requested) == len(found) and all(
        r is None or r == f for r, f in zip(requested, found, strict=True)
    )


def _fmt_shape(shape: Sequence[Any]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


@functools.lru_cache(maxsize=4096)
def _needs_no_arguments_cached(fn: Callable[..., Any]) -> bool:
    return _needs_no_arguments(fn)


def _needs_no_arguments(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in sig.parameters.values()
    )


def needs_no_arguments(fn: Callable[..., Any]) -> bool:
    try:
        return _needs_no_arguments_cached(fn)
    except TypeError:  # unhashable callable
        return _needs_no_arguments(fn)


def _with_name(e: ScopeJaxError, name: str) -> ScopeJaxError:
    """Re-raises an initializer error with the variable's name in front."""
    err = type(e)(f"Variable {name}: {e}")
    err.__cause__ = e
    return err


def _collections(collections: Any, trainable: bool, name: str) -> tuple[str, ...]:
    if collections is None:
        keys = [GLOBAL_VARIABLES]
    elif isinstance(collections, str) or not isinstance(collections, Iterable):
        raise ScopeTypeError(
            f"collections of variable {name} must be a list of collection keys, got "
            f"{collections!r}."
        )
    else:
        keys = list(collections)
        bad = [k for k in keys if not isinstance(k, str)]
        if bad:
            raise ScopeTypeError(
                f"collections of variable {name} must hold string keys (e.g. "
                f"scopejax.GLOBAL_VARIABLES), got {bad!r}."
            )
    if trainable and TRAINABLE_VARIABLES not in keys:
        keys.append(TRAINABLE_VARIABLES)
    return tuple(dict.fromkeys(keys))


def _creation(name: str, shape: Shape | None, dtype: np.dtype, initializer: Any
              ) -> tuple[tuple[int, ...], np.dtype, Callable[[Any], Any], bool]:  # fmt: skip
    """Shape, dtype, a ``key -> value`` maker and whether it needs a key, for a new variable.

    TF's ``_get_single_variable`` creation branch.
    """
    fully_defined = shape is not None and all(d is not None for d in shape)
    if initializer is not None and not callable(initializer):  # a constant value
        vdtype = _constant_dtype(name, initializer)
        try:
            vshape = tuple(np.shape(initializer))
        except ValueError as e:
            raise InitializerError(
                f"Variable {name}: the constant initializer is ragged (nested lists of different "
                f"lengths: {e}). Pass a rectangular array."
            ) from None
        return vshape, vdtype, lambda key: _constant(name, initializer, vdtype), False
    if initializer is None:
        if shape is None:
            raise InitializerError(
                f"Variable {name} did not get an initializer, so its `shape` argument must be "
                "specified."
            )
        try:
            initializer = default_initializer(dtype, name)
        except ScopeJaxError as e:
            raise (e if name in str(e) else _with_name(e, name)) from None
    if fully_defined:
        full: tuple[int, ...] = tuple(shape)  # type: ignore[arg-type]
        needs_key = not isinstance(initializer, TFInitializer) or initializer.needs_key
        return full, dtype, lambda key: call_initializer(initializer, key, full, dtype), needs_key
    if not isinstance(initializer, TFInitializer) and needs_no_arguments(initializer):
        value = initializer()
        vdtype = _constant_dtype(name, value)
        return tuple(np.shape(value)), vdtype, lambda key: _constant(name, value, vdtype), False
    raise InitializerError(
        f"Variable {name}: The initializer passed is not valid. It should be a callable with no "
        "arguments and the shape should not be provided or an instance of "
        "`scopejax.*_initializer` and `shape` should be fully defined "
        f"(got shape={shape!r}, initializer={initializer!r})."
    )


_MAX_BYTES = 1 << 62  # beyond this XLA's shape arithmetic overflows (and aborts the process)


def _check_size(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    size = math.prod(shape)
    if size * max(1, dtype.itemsize) >= _MAX_BYTES:
        raise InitializerError(
            f"Variable {name}: shape {_fmt_shape(shape)} has {size} elements of {dtype.name}, "
            "more than any device can hold (XLA cannot even represent the size). Check the "
            "shape."
        )


def _constant_dtype(name: str, value: Any) -> np.dtype:
    try:
        return constant_dtype(value)
    except (InitializerError, InitializerTypeError) as e:
        raise _with_name(e, name) from None


def _constant(name: str, value: Any, dtype: np.dtype) -> Any:
    try:
        return jnp.asarray(value, dtype=dtype)
    except OverflowError as e:
        raise InitializerError(
            f"Variable {name}: the constant initializer {value!r} does not fit {dtype.name} "
            f"({e}). Enable 64-bit types (jax.config.update('jax_enable_x64', True)) or pass a "
            "smaller value."
        ) from None


def true_getter(
    source: VariableSource,
    name: str,
    shape: Any = None,
    dtype: Any = np.float32,
    initializer: Any = None,
    regularizer: Any = None,
    reuse: ReuseMode = False,
    trainable: bool | None = None,
    collections: Any = None,
    caching_device: Any = None,
    partitioner: Any = None,
    validate_shape: bool = True,
    use_resource: bool | None = None,
    constraint: Any = None,
    synchronization: Any = None,
    aggregation: Any = None,
) -> Any:
    """TF1's ``_true_getter``: the reuse decision, checks and creation for one full name.

    ``synchronization`` and ``aggregation`` (distribution-strategy hints) are accepted so that
    TF1 custom getters can forward them, and ignored.
    """
    del synchronization, aggregation
    if not isinstance(name, str):
        raise ScopeTypeError(f"Variable names must be strings, got {type(name).__name__} {name!r}.")
    shape = as_shape(shape, f"variable {name}")
    dtype = canonical_dtype(dtype, f"variable {name}")
    if shape is not None and None not in shape:
        _check_size(name, shape, dtype)  # type: ignore[arg-type]
    if trainable is None:
        trainable = True

    def make_info(vshape: tuple[int, ...], vdtype: np.dtype, partition: Any = None) -> VarInfo:
        return VarInfo(
            shape=vshape,
            dtype=vdtype,
            trainable=bool(trainable),
            collections=_collections(collections, bool(trainable), name),
            partition=partition,
            regularizer=regularizer,
            constraint=constraint,
            caching_device=caching_device or None,
        )

    if partitioner is not None and not (shape is not None and len(shape) == 0):
        partitioners.check_partitioner(name, partitioner)
        return partitioned.get_partitioned(
            source, name, shape, dtype, initializer, reuse, partitioner, make_info
        )
    if initializer is not None and not callable(initializer) and shape is not None:
        raise InitializerError(
            f"If initializer is a constant, do not specify shape. (Variable {name} got "
            f"shape={_fmt_shape(shape)} and a constant of shape "
            f"{_fmt_shape(np.shape(initializer))}.)"
        )
    found = source.existing(name)
    if found is None and "/part_" in name:
        found = partitioned.existing_shard(source, name)
    elif found is not None and found[1].partition is not None:
        if reuse is True and partitioner is None:  # only reuse=True may omit the partitioner
            return partitioned.get_partitioned(
                source, name, shape, dtype, initializer, reuse, None, make_info
            )
        raise partitioned.no_partitioner_error(name)
    decision = reuse_table.decide(found is not None, reuse)
    if decision is reuse_table.Decision.EXISTS_ERROR:
        raise reuse_table.exists_error(name)
    if decision is reuse_table.Decision.MISSING_ERROR:
        from scopejax._src.errors import closest_names

        raise reuse_table.missing_error(name, closest_names(name, source.known_names()))
    if decision is reuse_table.Decision.RETURN:
        value, info = found  # type: ignore[misc]
        if shape is not None and not _compatible(shape, info.shape):
            raise ShapeMismatchError(
                f"Trying to share variable {name}, but specified shape {_fmt_shape(shape)} and "
                f"found shape {_fmt_shape(info.shape)}."
            )
        if dtype != info.dtype:
            raise DtypeMismatchError(
                f"Trying to share variable {name}, but specified dtype {dtype.name} and found "
                f"dtype {info.dtype.name}. (The requested dtype defaults to the scope's dtype; "
                f"pass dtype={info.dtype.name!r}.)"
            )
        return value
    vshape, vdtype, make, needs_key = _creation(name, shape, dtype, initializer)
    names.check_variable_name(name, name.rsplit("/", 1)[-1] if name else name)  # after, as in TF
    info = make_info(vshape, vdtype)

    def make_value(key: Any) -> Any:
        try:
            return make(key)
        except (InitializerError, InitializerTypeError) as e:
            raise _with_name(e, name) from None

    return source.create(name, info, make_value, needs_key)


_GET_KWARGS = (
    "shape", "dtype", "initializer", "regularizer", "trainable", "collections", "caching_device",
    "partitioner", "validate_shape", "use_resource", "constraint",
)  # fmt: skip


def scope_get_variable(
    source: VariableSource,
    scope: Scope,
    name: str,
    shape: Any = None,
    dtype: Any = None,
    initializer: Any = None,
    regularizer: Any = None,
    trainable: bool | None = None,
    collections: Any = None,
    caching_device: Any = None,
    partitioner: Any = None,
    validate_shape: bool = True,
    use_resource: bool | None = None,
    custom_getter: Any = None,
    constraint: Any = None,
) -> Any:
    """TF1's ``VariableScope.get_variable``: fill in scope defaults, then run the getter chain."""
    if not isinstance(name, str):
        raise ScopeTypeError(
            f"get_variable name must be a string, got {type(name).__name__} {name!r} "
            f"(in scope '{scope.name}')."
        )
    if regularizer is None:
        regularizer = scope.regularizer
    if caching_device is None:
        caching_device = scope.caching_device
    if partitioner is None:
        partitioner = scope.partitioner
    if custom_getter is None:
        custom_getter = scope.custom_getter
    full_name = names.join(scope.name, name)
    if dtype is not None and initializer is not None and not callable(initializer):
        init_dtype = _constant_dtype(full_name, initializer)
        explicit = canonical_dtype(dtype, f"variable {full_name}")
        if init_dtype != explicit:
            raise InitializerError(
                f"Initializer type '{init_dtype.name}' and explicit dtype '{explicit.name}' "
                f"don't match. (Variable {full_name}: the constant initializer decides the dtype; "
                "drop dtype= or cast the constant.)"
            )
    if initializer is None:
        initializer = scope.initializer
    if constraint is None:
        constraint = scope.constraint
    if dtype is None:
        dtype = scope.dtype
    if use_resource is None:
        use_resource = scope.use_resource
    for flag, value in (("validate_shape", validate_shape), ("use_resource", use_resource),
                        ("trainable", trainable)):  # fmt: skip
        if value is not None and not isinstance(value, bool | np.bool_):
            raise ScopeTypeError(
                f"{flag} of variable {full_name} must be a bool (or None), got {value!r}."
            )
    for role, fn in (("regularizer", regularizer), ("constraint", constraint)):
        if fn is not None and not callable(fn):
            raise ScopeTypeError(
                f"The {role} of variable {full_name} must be a callable (array -> array), got "
                f"{type(fn).__name__} {fn!r}."
            )
    kwargs = dict(
        shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
        reuse=scope.reuse, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner, validate_shape=validate_shape,
        use_resource=use_resource, constraint=constraint,
    )  # fmt: skip
    getter = functools.partial(true_getter, source)
    if custom_getter is None:
        return getter(full_name, **kwargs)
    if not callable(custom_getter):
        raise CustomGetterError(
            f"Passed a custom_getter which is not callable: {custom_getter!r} (variable "
            f"{full_name}). A custom getter is called as getter_fn(getter, name, **kwargs)."
        )
    # As TF: getters see `trainable` resolved, plus synchronization/aggregation, and get
    # `constraint` only if they can take it.
    kwargs["trainable"] = True if trainable is None else trainable
    kwargs["synchronization"] = kwargs["aggregation"] = None
    if not _accepts_constraint(custom_getter):
        del kwargs["constraint"]
    return call_user(custom_getter, f"custom getter of variable {full_name}",
                     "getter_fn(getter, name, *args, **kwargs)", getter=getter, name=full_name,
                     **kwargs)  # fmt: skip


def _accepts_constraint(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "constraint" or p.kind is p.VAR_KEYWORD for p in params)


__all__ = ["AUTO_REUSE", "VariableSource", "scope_get_variable", "true_getter"]
