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
from typing import Any, NamedTuple, Protocol

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
    key = None
    if partitioner is None:
        key = _request_key(name, shape, dtype, initializer, regularizer, trainable, collections,
                           caching_device, constraint)  # fmt: skip
        cache = getattr(source, "prepared", None)
        prepared = cache.get(key) if key is not None and cache is not None else None
        if prepared is not None:
            found = source.existing(name)
            if found is not None and found[1].partition is None:
                return _reuse(name, found, prepared.shape, prepared.dtype, reuse, source)
            if found is None and "/part_" not in name:
                decision = reuse_table.decide(False, reuse)
                if decision is reuse_table.Decision.CREATE:
                    return source.create(name, prepared.info, prepared.make_value,
                                         prepared.needs_key)  # fmt: skip
                return _reuse(name, None, prepared.shape, prepared.dtype, reuse, source)
            # A partitioned variable or a shard: the general path below.
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
    if reuse_table.decide(found is not None, reuse) is not reuse_table.Decision.CREATE:
        return _reuse(name, found, shape, dtype, reuse, source)
    vshape, vdtype, make, needs_key = _creation(name, shape, dtype, initializer)
    names.check_variable_name(name, name.rsplit("/", 1)[-1] if name else name)  # after, as in TF
    info = make_info(vshape, vdtype)

    def make_value(rng: Any) -> Any:
        try:
            return make(rng)
        except (InitializerError, InitializerTypeError) as e:
            raise _with_name(e, name) from None

    if key is not None:
        keep = (initializer, regularizer, constraint, caching_device)
        _remember(source, key, _Prepared(shape, dtype, info, make_value, needs_key, keep))
    return source.create(name, info, make_value, needs_key)


def _reuse(name: str, found: tuple[Any, VarInfo] | None, shape: Shape | None, dtype: np.dtype,
           reuse: ReuseMode, source: VariableSource) -> Any:  # fmt: skip
    """The non-creating cells of the reuse table: an error, or the found value checked."""
    decision = reuse_table.decide(found is not None, reuse)
    if decision is reuse_table.Decision.EXISTS_ERROR:
        raise reuse_table.exists_error(name)
    if decision is reuse_table.Decision.MISSING_ERROR:
        from scopejax._src.errors import closest_names

        raise reuse_table.missing_error(name, closest_names(name, source.known_names()))
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


NOT_PREPARED = object()


def fast_get_variable(source: VariableSource, scope: Scope, name: str, shape: Any, dtype: Any,
                      initializer: Any, trainable: Any, collections: Any) -> Any:  # fmt: skip
    """``scope_get_variable`` for a plain request, when it was prepared before; else None.

    The caller guarantees the plain case: ``name`` a str; no regularizer, caching device,
    partitioner, custom getter or constraint given or set on ``scope``; ``validate_shape`` True;
    ``trainable`` None or a bool; ``scope.use_resource`` None or a bool. Then every check of
    ``scope_get_variable`` passes, and with a prepared request ``true_getter`` goes straight to
    the reuse decision. Returns :data:`NOT_PREPARED` (having done nothing) otherwise.
    """
    if dtype is None:
        dtype = scope.dtype
    if initializer is None:
        initializer = scope.initializer
    full_name = f"{scope.name}/{name}" if scope.name else name
    key = _request_key(full_name, shape, dtype, initializer, None, trainable, collections, None,
                       None)  # fmt: skip
    cache = getattr(source, "prepared", None)
    prepared = cache.get(key) if key is not None and cache is not None else None
    if prepared is None:
        return NOT_PREPARED
    found = source.existing(full_name)
    if found is None:
        if "/part_" in full_name:
            return NOT_PREPARED
        if reuse_table.decide(False, scope.reuse) is reuse_table.Decision.CREATE:
            return source.create(full_name, prepared.info, prepared.make_value,
                                 prepared.needs_key)  # fmt: skip
    elif found[1].partition is not None:
        return NOT_PREPARED
    return _reuse(full_name, found, prepared.shape, prepared.dtype, scope.reuse, source)


class _Prepared(NamedTuple):
    """The argument work of one successful creation request, reused when it is asked again.

    Everything here is a function of the request's arguments alone (validated shape and dtype,
    the ``VarInfo``, the lazy ``key -> value`` maker), so a repeated request -- every ``apply``
    and every later ``init`` of the same model -- skips straight to the reuse decision.
    """

    shape: Shape
    dtype: np.dtype
    info: VarInfo
    make_value: Callable[[Any], Any]
    needs_key: bool
    keep: tuple[Any, ...]  # the objects keyed by identity, kept alive so their ids stay theirs


PREPARED_MAX = 1 << 15  # requests remembered per transformed function


def _remember(source: VariableSource, key: tuple[Any, ...], prepared: _Prepared) -> None:
    """Keeps ``prepared`` in the source's cache: the one dict of its ``transform`` (shared by
    every ``init``/``apply`` call of that model, and by nothing else), if it has one."""
    cache = getattr(source, "prepared", None)
    if cache is None:
        return
    if len(cache) >= PREPARED_MAX:
        cache.clear()
    cache[key] = prepared


_BY_VALUE = (str, int, float, bool, type(None))


def _request_key(name: str, shape: Any, dtype: Any, initializer: Any, regularizer: Any,
                 trainable: Any, collections: Any, caching_device: Any,
                 constraint: Any) -> tuple[Any, ...] | None:  # fmt: skip
    """A key that determines everything :class:`_Prepared` holds, or None (not cacheable).

    Only plain cases are keyed: a fully defined shape of Python ints, a dtype given as a type,
    ``np.dtype`` or string, no initializer or a callable one (a constant's dtype and shape are
    inferred from its value; a shapeless callable is called right away), ``trainable`` a bool or
    None, collections a list of strings. Types are part of the key (``True == 1``), initializers
    of scopejax compare by value (they are immutable), other callables by identity.
    """
    if type(shape) is int:
        shape_key: tuple[int, ...] = (shape,)
    elif type(shape) is tuple or type(shape) is list:
        shape_key = tuple(shape)
        for d in shape_key:
            if type(d) is not int:
                return None
    else:
        return None
    if type(dtype) in _BY_VALUE or isinstance(dtype, np.dtype):
        dtype_key: Any = (type(dtype), dtype)
    elif isinstance(dtype, type):
        dtype_key = dtype
    else:
        return None
    if initializer is None:
        init_key: Any = None
    elif isinstance(initializer, TFInitializer):
        try:
            init_key = (type(initializer), hash(initializer), initializer)
        except TypeError:
            init_key = ("id", id(initializer))
    elif callable(initializer):
        init_key = ("id", id(initializer))
    else:
        return None
    if not (trainable is None or type(trainable) is bool):
        return None
    if collections is not None:
        if type(collections) is not list and type(collections) is not tuple:
            return None
        collections = tuple(collections)
        for c in collections:
            if type(c) is not str:
                return None
    device_key = ((type(caching_device), caching_device) if type(caching_device) in _BY_VALUE
                  else ("id", id(caching_device)))  # fmt: skip
    # Canonical dtypes (and so the default initializer) depend on x64 only for 64-bit types.
    x64 = None if isinstance(dtype, np.dtype) and dtype.itemsize < 8 else jax.config.jax_enable_x64
    return (name, shape_key, dtype_key, init_key, None if regularizer is None else id(regularizer),
            trainable, collections, device_key, None if constraint is None else id(constraint),
            x64)  # fmt: skip


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
        if value is not None and value is not True and value is not False and not isinstance(
                value, bool | np.bool_):  # fmt: skip
            raise ScopeTypeError(
                f"{flag} of variable {full_name} must be a bool (or None), got {value!r}."
            )
    if regularizer is not None or constraint is not None:
        for role, fn in (("regularizer", regularizer), ("constraint", constraint)):
            if fn is not None and not callable(fn):
                raise ScopeTypeError(
                    f"The {role} of variable {full_name} must be a callable (array -> array), "
                    f"got {type(fn).__name__} {fn!r}."
                )
    if custom_getter is None:  # the common case: no getter chain, no kwargs dict
        return true_getter(
            source, full_name, shape, dtype, initializer, regularizer, scope.reuse, trainable,
            collections, caching_device, partitioner, validate_shape, use_resource, constraint,
        )  # fmt: skip
    kwargs = dict(
        shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
        reuse=scope.reuse, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner, validate_shape=validate_shape,
        use_resource=use_resource, constraint=constraint,
    )  # fmt: skip
    getter = functools.partial(true_getter, source)
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
