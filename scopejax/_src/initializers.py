"""TF1's initializers (``tf.compat.v1`` init_ops) as JAX-native, hashable values.

Every initializer is called like ``jax.nn.initializers``: ``init(key, shape, dtype=None)``. ``key``
is a JAX PRNG key (raw or typed, may be a tracer); deterministic initializers accept ``key=None``.
``dtype=None`` means the initializer's own ``dtype``; results are canonical (``float64`` becomes
``float32`` unless x64 is on). TF's op-level ``seed`` is folded into the key
(``jax.random.fold_in``), so the same key with another seed gives other values.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import operator
from numbers import Real
from typing import Any, ClassVar, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src.errors import InitializerError, InitializerTypeError

Shape = tuple[int, ...]
DTypeLike = Any
_TRUNC_STD = 0.87962566103423978  # scipy.stats.truncnorm.std(a=-2, b=2), TF's constant
_PY_LEVEL = {bool: 0, int: 1, float: 2, complex: 3}  # Python scalars, in TF's conversion order


class InitializerFn(Protocol):
    """A JAX-style initializer: every ``jax.nn.initializers.*`` and every `TFInitializer`."""

    def __call__(
        self, key: jax.Array | None, shape: Shape, dtype: DTypeLike | None = None
    ) -> jax.Array: ...


def _np_dtype(dtype: DTypeLike) -> np.dtype:
    if type(dtype) is type and dtype in _NP_DTYPES:  # np.float32 & co: every initializer's default
        return _NP_DTYPES[dtype]
    try:  # `as_numpy_dtype` accepts a tf.DType in ported code.
        return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError as e:
        raise InitializerTypeError(f"{dtype!r} is not a dtype.") from e


_NP_DTYPES = {t: np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                       np.int32, np.int64, np.uint8, np.uint32, np.bool_)}


def _canonical(dtype: DTypeLike) -> np.dtype:
    return np.dtype(jax.dtypes.canonicalize_dtype(_np_dtype(dtype)))


def _is_float(dtype: np.dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.floating))


def _level(dtype: np.dtype) -> int:
    if dtype == np.bool_:
        return 0
    return 1 if jnp.issubdtype(dtype, jnp.integer) else 2 if _is_float(dtype) else 3


def _as_shape(shape: Any) -> Shape:
    try:
        dims = tuple(operator.index(d) for d in shape)
    except TypeError as e:
        raise InitializerError(f"shape must be a sequence of ints, got {shape!r}.") from e
    if any(d < 0 for d in dims):
        raise InitializerError(f"shape must not have negative dimensions, got {dims}.")
    return dims


def compute_fans(shape: Any) -> tuple[int, int]:
    """Returns TF1's ``(fan_in, fan_out)``: rank 0 (1, 1), rank 1 (n, n), rank 2 the two dims.

    Rank ≥ 3 shapes are convolution kernels ``(..., in, out)`` whose fans are multiplied by the
    receptive field size ``prod(shape[:-2])``.

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)

    TF1 equivalent: ``init_ops._compute_fans``.
    """
    shape = _as_shape(shape)
    if len(shape) < 2:
        return (shape[0], shape[0]) if shape else (1, 1)
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class TFInitializer(abc.ABC):
    """Base class of scopejax's TF1 initializers (the getter detects them with ``isinstance``).

    Subclasses are frozen dataclasses (hashable, equal by value) with a ``dtype`` field.

    >>> import jax
    >>> init = truncated_normal_initializer(stddev=0.02)
    >>> isinstance(init, TFInitializer), init == truncated_normal_initializer(stddev=0.02)
    (True, True)
    >>> init(jax.random.key(0), (2, 3)).shape
    (2, 3)
    """

    dtype: np.dtype
    _tf_name: ClassVar[str] = "initializer"
    needs_key: ClassVar[bool] = False  # random initializers need a PRNG key
    uses_full_shape: ClassVar[bool] = False  # a shard takes its fans from the full shape
    # Draws every element independently from one distribution (given the full shape), so a
    # partitioned variable can be drawn whole, sharded, instead of shard by shard.
    elementwise: ClassVar[bool] = False

    @abc.abstractmethod
    def __call__(
        self, key: jax.Array | None, shape: Shape, dtype: DTypeLike | None = None
    ) -> jax.Array:
        """Returns a new array of ``shape`` and ``dtype`` (default ``self.dtype``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", _np_dtype(self.dtype))

    def __repr__(self) -> str:
        fmt = lambda v: v.name if isinstance(v, np.dtype) else repr(v)
        fields = [f for f in dataclasses.fields(self) if f.repr]  # type: ignore[arg-type]
        args = ", ".join(f"{f.name}={fmt(getattr(self, f.name))}" for f in fields)
        return f"{type(self).__name__}({args})"

    def _resolve(self, shape: Any, dtype: DTypeLike | None) -> tuple[Shape, np.dtype]:
        return _as_shape(shape), _canonical(self.dtype if dtype is None else dtype)


class _Random(TFInitializer):
    """Random initializers: floating dtypes only (checked at construction and call), PRNG key."""

    elementwise: ClassVar[bool] = True

    seed: int | None
    needs_key: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.seed is not None:
            try:
                if isinstance(self.seed, bool | np.bool_):
                    raise TypeError
                object.__setattr__(self, "seed", operator.index(self.seed))
            except TypeError:
                raise InitializerTypeError(
                    f"{self._tf_name}: seed must be an int or None, got "
                    f"{type(self.seed).__name__} {self.seed!r:.40}."
                ) from None
        self._check_dtype(self.dtype)

    def _check_dtype(self, dtype: np.dtype) -> None:
        if not _is_float(dtype):
            raise InitializerTypeError(
                f"Expected floating point type, got {dtype.name}: {self._tf_name} only makes "
                "floats. Use zeros_initializer() or constant_initializer() for ints and bools."
            )

    def _resolve(self, shape: Any, dtype: DTypeLike | None) -> tuple[Shape, np.dtype]:
        shape, dt = super()._resolve(shape, dtype)
        self._check_dtype(dt)
        return shape, dt

    def _key(self, key: jax.Array | None) -> jax.Array:
        if key is None:
            raise InitializerError(
                f"{self._tf_name} is random and needs a PRNG key, e.g. "
                "init(jax.random.key(0), shape); got key=None."
            )
        if not isinstance(key, jax.Array | np.ndarray):
            raise InitializerTypeError(
                f"{self._tf_name} needs a JAX PRNG key such as jax.random.key(0), got {key!r}."
            )
        if self.seed is not None:  # 64-bit seeds are folded in as two 32-bit words
            key = jax.random.fold_in(key, self.seed & 0xFFFFFFFF)
            if not 0 <= self.seed < 2**32:
                key = jax.random.fold_in(key, (self.seed >> 32) & 0xFFFFFFFF)
        return key


_frozen = dataclasses.dataclass(frozen=True, repr=False)


@_frozen
class Zeros(TFInitializer):
    """Initializer of zeros (``False`` for bool); works for every dtype.

    >>> zeros_initializer()(None, (2,), jnp.int32)
    Array([0, 0], dtype=int32)

    TF1 equivalent: ``tf.compat.v1.zeros_initializer``.
    """

    dtype: DTypeLike = np.float32
    _tf_name: ClassVar[str] = "zeros_initializer"

    def __call__(self, key, shape, dtype=None):
        return jnp.zeros(*self._resolve(shape, dtype))


@_frozen
class Ones(TFInitializer):
    """Initializer of ones (``True`` for bool); works for every dtype.

    >>> ones_initializer()(None, (2,))
    Array([1., 1.], dtype=float32)

    TF1 equivalent: ``tf.compat.v1.ones_initializer``.
    """

    dtype: DTypeLike = np.float32
    _tf_name: ClassVar[str] = "ones_initializer"

    def __call__(self, key, shape, dtype=None):
        return jnp.ones(*self._resolve(shape, dtype))


def _check_python_values(value: Any, dtype: np.dtype) -> None:
    """Raises TF's TypeError for a Python scalar in ``value`` that ``dtype`` cannot hold."""
    if isinstance(value, list | tuple):
        for v in value:
            _check_python_values(v, dtype)
    elif _PY_LEVEL.get(type(value), -1) > _level(dtype):
        raise InitializerTypeError(
            f"Expected {dtype.name}, but got {value!r} of type '{type(value).__name__}'."
        )


@_frozen
class Constant(TFInitializer):
    """Initializer of a constant: a scalar (broadcast) or exactly ``prod(shape)`` values.

    TF1 graph mode padded a short ``value`` with its last element; scopejax raises instead. Like
    TF, a Python float is never truncated to an integer dtype. Hashable for list/array values.

    >>> constant_initializer([1, 2, 3, 4])(None, (2, 2))
    Array([[1., 2.],
           [3., 4.]], dtype=float32)

    TF1 equivalent: ``tf.compat.v1.constant_initializer``.
    """

    value: Any = 0
    dtype: DTypeLike = np.float32
    verify_shape: bool = False
    _array: np.ndarray = dataclasses.field(init=False, repr=False, compare=False)
    _tf_name: ClassVar[str] = "constant_initializer"

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            array = np.array(self.value)
        except ValueError as e:
            raise InitializerError(f"constant_initializer got a ragged value {self.value!r}") from e
        if array.dtype.kind not in "biufc" and not _is_float(array.dtype):
            raise InitializerTypeError(
                f"Invalid type for initial value={self.value!r} of type: "
                f"{type(self.value).__name__}. Expected Python scalar, list or tuple of values, "
                "or numpy.ndarray."
            )
        array.flags.writeable = False
        object.__setattr__(self, "_array", array)

    def _identity(self) -> tuple[Any, ...]:
        a = self._array
        return (a.dtype.str, a.shape, a.tobytes(), self.dtype, self.verify_shape)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._identity() == other._identity()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._identity())

    def __call__(self, key, shape, dtype=None):
        shape, dt = self._resolve(shape, dtype)
        _check_python_values(self.value, dt)
        a, size = self._array, math.prod(shape)
        if self.verify_shape and a.shape != shape:
            raise InitializerError(f"Expected Tensor's shape: {shape}, but got {a.shape}.")
        if a.size == 1:
            return jnp.full(shape, a.reshape(()), dtype=dt)
        if a.size != size:
            raise InitializerError(
                f"constant_initializer value has the wrong number of elements for shape {shape}:"
                f" expected {size} (or a scalar), found {a.size}."
            )
        return jnp.asarray(a.astype(dt).reshape(shape))


@_frozen
class _Normal(_Random):
    mean: float = 0.0
    stddev: float = 1.0
    seed: int | None = None
    dtype: DTypeLike = np.float32


@_frozen
class RandomNormal(_Normal):
    """Initializer drawing from a normal distribution ``N(mean, stddev²)``.

    Like every random initializer here, a non-None ``seed`` (TF's op-level seed) is folded into
    the key with ``jax.random.fold_in``: same key and seed, same values.

    >>> random_normal_initializer(stddev=0.02)(jax.random.key(0), (2, 3)).shape
    (2, 3)

    TF1 equivalent: ``tf.compat.v1.random_normal_initializer``.
    """

    _tf_name: ClassVar[str] = "random_normal_initializer"

    def __call__(self, key, shape, dtype=None):
        shape, dt = self._resolve(shape, dtype)
        return self.mean + self.stddev * jax.random.normal(self._key(key), shape, dt)


@_frozen
class TruncatedNormal(_Normal):
    """Initializer drawing from a normal truncated at ``mean ± 2·stddev``, *not* rescaled.

    As in TF1 the sample standard deviation is therefore about ``0.88·stddev``. ``seed`` is
    folded into the key.

    >>> x = truncated_normal_initializer(stddev=0.5)(jax.random.key(0), (1000,))
    >>> bool(jnp.abs(x).max() <= 1.0), x.dtype
    (True, dtype('float32'))

    TF1 equivalent: ``tf.compat.v1.truncated_normal_initializer``.
    """

    _tf_name: ClassVar[str] = "truncated_normal_initializer"

    def __call__(self, key, shape, dtype=None):
        shape, dt = self._resolve(shape, dtype)
        unit = jax.random.truncated_normal(self._key(key), -2.0, 2.0, shape, dt)
        return self.mean + self.stddev * unit


@_frozen
class RandomUniform(_Random):
    """Initializer drawing uniformly from ``[minval, maxval)``; also for integer dtypes.

    ``maxval=None`` means 1 for floating dtypes; integer dtypes need an explicit ``maxval``.
    ``seed`` is folded into the key.

    >>> random_uniform_initializer(0, 10, dtype=jnp.int32)(jax.random.key(0), (4,)).dtype
    dtype('int32')

    TF1 equivalent: ``tf.compat.v1.random_uniform_initializer``.
    """

    minval: float = 0
    maxval: float | None = None
    seed: int | None = None
    dtype: DTypeLike = np.float32
    _tf_name: ClassVar[str] = "random_uniform_initializer"

    def _check_dtype(self, dtype: np.dtype) -> None:
        if not jnp.issubdtype(dtype, jnp.integer):
            super()._check_dtype(dtype)
        elif self.maxval is None:
            raise InitializerError(f"Must specify maxval for integer dtype {dtype.name}.")

    def __call__(self, key, shape, dtype=None):
        shape, dt = self._resolve(shape, dtype)
        if jnp.issubdtype(dt, jnp.integer):
            return jax.random.randint(self._key(key), shape, self.minval, self.maxval, dt)
        maxval = 1 if self.maxval is None else self.maxval
        return jax.random.uniform(self._key(key), shape, dt, self.minval, maxval)


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "uniform", "truncated_normal", "untruncated_normal")


@_frozen
class VarianceScaling(_Random):
    """Initializer whose scale adapts to the weight shape: variance ``scale / n``.

    ``n = max(1, fan)`` for ``mode`` fan_in, fan_out or fan_avg (`compute_fans`).
    ``"truncated_normal"`` (alias ``"normal"``) truncates at ±2 with std
    ``sqrt(scale/n)/0.8796`` so the result has std ``sqrt(scale/n)``; ``"untruncated_normal"``
    uses std ``sqrt(scale/n)``; ``"uniform"`` is ``U(±sqrt(3·scale/n))``. ``seed`` is folded
    into the key. The fans come from the shape passed at call time.

    >>> init = variance_scaling_initializer(2.0, "fan_in", "untruncated_normal")
    >>> init(jax.random.key(0), (3, 3, 8, 16)).shape
    (3, 3, 8, 16)

    TF1 equivalent: ``tf.compat.v1.variance_scaling_initializer``.
    """

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    seed: int | None = None
    dtype: DTypeLike = np.float32
    _tf_name: ClassVar[str] = "variance_scaling_initializer"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.scale, bool) or not (isinstance(self.scale, Real) or (
                isinstance(self.scale, jax.Array | np.ndarray) and self.scale.ndim == 0
                and np.issubdtype(self.scale.dtype, np.number))):
            raise InitializerTypeError(
                f"variance_scaling_initializer: scale must be a positive float, got "
                f"{type(self.scale).__name__} {self.scale!r:.40}."
            )
        if not self.scale > 0.0:
            raise InitializerError(f"`scale` must be positive float. Received: {self.scale!r}.")
        if self.mode not in _MODES:
            raise InitializerError(f"Invalid `mode` argument: {self.mode!r}; expected {_MODES}.")
        distribution = str(self.distribution).lower()
        if distribution not in _DISTRIBUTIONS:
            raise InitializerError(
                f"Invalid `distribution` argument: {self.distribution!r}; "
                f"expected one of {_DISTRIBUTIONS}."
            )
        object.__setattr__(self, "distribution", distribution)

    uses_full_shape: ClassVar[bool] = True

    def __call__(self, key, shape, dtype=None, partition_info=None):
        shape, dt = self._resolve(shape, dtype)
        key = self._key(key)
        # A shard of a partitioned variable: TF1 takes the fans from the full shape.
        fan_in, fan_out = compute_fans(shape if partition_info is None
                                       else tuple(partition_info.full_shape))  # fmt: skip
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / _TRUNC_STD
            return stddev * jax.random.truncated_normal(key, -2.0, 2.0, shape, dt)
        if self.distribution == "untruncated_normal":
            return math.sqrt(scale) * jax.random.normal(key, shape, dt)
        limit = math.sqrt(3.0 * scale)
        return jax.random.uniform(key, shape, dt, -limit, limit)


def glorot_uniform_initializer(seed: int | None = None, dtype: DTypeLike = np.float32):
    """Glorot/Xavier uniform: ``U(±sqrt(6/(fan_in+fan_out)))``, TF1's default for floats.

    >>> glorot_uniform_initializer()
    VarianceScaling(scale=1.0, mode='fan_avg', distribution='uniform', seed=None, dtype=float32)

    TF1 equivalent: ``tf.compat.v1.glorot_uniform_initializer``.
    """
    return VarianceScaling(1.0, "fan_avg", "uniform", seed, dtype)


def glorot_normal_initializer(seed: int | None = None, dtype: DTypeLike = np.float32):
    """Glorot/Xavier normal: truncated normal with std ``sqrt(2/(fan_in+fan_out))``.

    >>> glorot_normal_initializer(seed=3).distribution
    'truncated_normal'

    TF1 equivalent: ``tf.compat.v1.glorot_normal_initializer``.
    """
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed, dtype)


@_frozen
class Orthogonal(_Random):
    """Initializer of a (flattened) orthogonal matrix times ``gain``, by TF1's algorithm.

    Not elementwise: a partitioned variable gets one orthogonal block per shard, as in TF1.

    The shape is viewed as ``(prod(shape[:-1]), shape[-1])``; the QR decomposition of a normal
    matrix gives ``q``, made unique by the signs of ``diag(r)``: the columns (or the rows, when
    there are fewer rows than columns) are orthonormal. ``seed`` is folded into the key.

    >>> q = orthogonal_initializer()(jax.random.key(0), (4, 3))
    >>> bool(jnp.allclose(q.T @ q, jnp.eye(3), atol=1e-5))
    True

    TF1 equivalent: ``tf.compat.v1.orthogonal_initializer``.
    """

    gain: float = 1.0
    seed: int | None = None
    dtype: DTypeLike = np.float32
    _tf_name: ClassVar[str] = "orthogonal_initializer"
    elementwise: ClassVar[bool] = False

    def __call__(self, key, shape, dtype=None):
        shape, dt = self._resolve(shape, dtype)
        key = self._key(key)
        if len(shape) < 2:
            raise InitializerError(
                "The tensor to initialize must be at least two-dimensional "
                f"(orthogonal_initializer), got shape {shape}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if rows * cols == 0:
            return jnp.zeros(shape, dt)
        work = jnp.promote_types(dt, jnp.float32)  # no QR for 16-bit floats
        q, r = jnp.linalg.qr(jax.random.normal(key, (max(rows, cols), min(rows, cols)), work))
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        return (self.gain * (q.T if rows < cols else q).reshape(shape)).astype(dt)


# TF1's public names are the classes themselves.
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
variance_scaling_initializer = VarianceScaling
orthogonal_initializer = Orthogonal
