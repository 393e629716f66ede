"""TF1's weight regularizers (``tf.contrib.layers`` regularizers) as JAX-native, hashable values.

A regularizer maps one weight array to a scalar loss, or to ``None`` when it is disabled; pass it
as ``get_variable(..., regularizer=...)`` or call it yourself. The regularizers made here are
frozen dataclasses: equal (and hashing equal) by value, with a readable repr, so they can be
static arguments of ``jax.jit``. They work on tracers under ``jax.jit``, ``jax.grad`` and
``jax.vmap``.

As in TF1 the scale is converted to the weights' dtype and the loss is a 0-d array of that
dtype; the weights must be floating point. A scale of ``0.0`` disables a regularizer: it returns
`no_regularizer`, which returns ``None``. The ``scope`` arguments are accepted so that ported code
runs unchanged, and ignored: TF used them to name ops, and JAX has no op name scopes.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import operator
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from scopejax._src.errors import RegularizerError, ScopeTypeError

Regularizer = Callable[[Any], Any]
"""``weights -> scalar loss or None``: every regularizer made here, or any such function."""

_frozen = dataclasses.dataclass(frozen=True, repr=False)


def _check_scale(scale: Any, fn: str, arg: str = "scale") -> float | None:
    """TF1's validation of a scale: returns it as a float, or None when it is 0 (disabled)."""
    if isinstance(scale, numbers.Integral):  # bool included, as in TF1
        try:
            example = repr(float(scale))
        except OverflowError:
            example = "1.0"
        raise RegularizerError(
            f"{arg} cannot be an integer: {scale}. {fn} needs a float scale: pass {example} "
            f"instead of {scale}."
        )
    if not isinstance(scale, numbers.Real):
        raise ScopeTypeError(
            f"{fn} needs a float {arg} such as 0.01, got {scale!r} of type "
            f"{type(scale).__name__}. Use float(x) for a NumPy or JAX scalar; for a scale that "
            f"changes while training (a traced value), multiply the loss instead: "
            f"scale * {fn}(1.0)(weights)."
        )
    value = float(scale)
    if value < 0.0:
        raise RegularizerError(
            f"Setting a scale less than 0 on a regularizer: {value!r}. {fn} needs {arg} >= 0.0; "
            "pass 0.0 to disable the regularizer."
        )
    return None if value == 0.0 else value


def _float_weights(weights: Any, fn: str) -> jax.Array:
    """``weights`` as a JAX array (tracers pass through); raises unless its dtype is floating."""
    try:
        w = jnp.asarray(weights)
    except TypeError as e:
        raise ScopeTypeError(
            f"{fn} expects an array of weights, got {weights!r} of type {type(weights).__name__}."
        ) from e
    if not jnp.issubdtype(w.dtype, jnp.floating):
        raise ScopeTypeError(
            f"{fn} needs floating-point weights, got dtype {w.dtype.name}: the float scale "
            f"cannot be converted to {w.dtype.name} (TF1 fails here too). Regularize float "
            f"weights, or cast them first, e.g. weights.astype(jnp.float32)."
        )
    return w


class _ScaledRegularizer:
    """Shared parts of `L1Regularizer` and `L2Regularizer` (frozen dataclasses with ``scale``)."""

    scale: float
    _tf_name: ClassVar[str] = "regularizer"

    def __post_init__(self) -> None:  # validated and stored as a float even if built directly
        object.__setattr__(self, "scale", _check_scale(self.scale, self._tf_name) or 0.0)

    def __repr__(self) -> str:
        return f"{self._tf_name}(scale={self.scale!r})"

    def _scale_as(self, dtype: Any) -> jax.Array:
        return jnp.asarray(self.scale, dtype=dtype)  # TF1: convert_to_tensor(scale, dtype)


@_frozen
class L1Regularizer(_ScaledRegularizer):
    """``scale * sum(|weights|)``, made by `l1_regularizer`.

    Its gradient is ``scale * sign(weights)``, 0 where a weight is 0: TF1's gradient of ``abs``
    (``jax.grad(jnp.abs)(0.0)`` is 1), so weights at exactly 0 stay there, as in TF1.

    >>> L1Regularizer(0.5)(jnp.array([1.0, -2.0]))
    Array(1.5, dtype=float32)
    >>> jax.grad(L1Regularizer(0.5))(jnp.array([1.0, 0.0, -2.0]))
    Array([ 0.5,  0. , -0.5], dtype=float32)
    """

    scale: float
    _tf_name: ClassVar[str] = "l1_regularizer"

    def __call__(self, weights: Any) -> jax.Array:
        w = _float_weights(weights, self._tf_name)
        abs_w = jnp.sign(w) * w  # == |w| exactly, with TF's gradient sign(w) (0 at 0)
        return self._scale_as(w.dtype) * jnp.sum(abs_w)


@_frozen
class L2Regularizer(_ScaledRegularizer):
    """``scale * sum(weights ** 2) / 2``, made by `l2_regularizer`.

    Computed like TF1's ``tf.nn.l2_loss``, as ``sum(weights ** 2 * 0.5)``.

    >>> L2Regularizer(0.5)(jnp.array([1.0, -2.0]))
    Array(1.25, dtype=float32)
    """

    scale: float
    _tf_name: ClassVar[str] = "l2_regularizer"

    def __call__(self, weights: Any) -> jax.Array:
        w = _float_weights(weights, self._tf_name)
        half = jnp.asarray(0.5, dtype=w.dtype)
        return self._scale_as(w.dtype) * jnp.sum(jnp.square(w) * half)


@_frozen
class SumRegularizer:
    """The sum of the non-``None`` losses of several regularizers, made by `sum_regularizer`.

    Returns ``None`` when every regularizer returns ``None``. Hashable when they all are.

    >>> reg = SumRegularizer((l1_regularizer(1.0), lambda w: None))
    >>> reg(jnp.array([1.0, -2.0]))
    Array(3., dtype=float32)
    """

    regularizers: tuple[Regularizer, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "regularizers", tuple(self.regularizers))
        for i, reg in enumerate(self.regularizers):
            if not callable(reg):
                hint = (
                    f"l2_regularizer({reg!r}) to use the number as an L2 scale"
                    if isinstance(reg, numbers.Real)
                    else "functions such as l1_regularizer(0.01) or l2_regularizer(0.01)"
                )
                raise ScopeTypeError(
                    "sum_regularizer expects regularizers (callables weights -> loss); item "
                    f"{i} is {reg!r} of type {type(reg).__name__}. Pass {hint}."
                )

    def __repr__(self) -> str:
        return f"sum_regularizer([{', '.join(repr(r) for r in self.regularizers)}])"

    def __call__(self, weights: Any) -> jax.Array | None:
        losses = [loss for reg in self.regularizers if (loss := reg(weights)) is not None]
        return functools.reduce(operator.add, losses) if losses else None


@_frozen
class NoRegularizer:
    """The regularizer that never regularizes: returns ``None`` for any argument.

    Its one instance is `no_regularizer`; disabled regularizers (scale ``0.0``) are that instance.

    >>> no_regularizer(jnp.ones(3)) is None
    True
    >>> l2_regularizer(0.0)
    no_regularizer
    """

    def __repr__(self) -> str:
        return "no_regularizer"

    def __call__(self, _: Any) -> None:
        return None


no_regularizer = NoRegularizer()
"""TF1's ``tf.no_regularizer``: ``get_variable(..., regularizer=no_regularizer)`` overrides the
scope's regularizer so that the variable gets none (it always returns ``None``)."""


def l1_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """Returns ``weights -> scale * sum(|weights|)``; L1 regularization encourages sparsity.

    ``scale`` must be a float ``>= 0.0`` (an integer raises, as in TF1); ``0.0`` disables the
    regularizer (`no_regularizer`). ``scope`` is ignored (op names have no JAX counterpart).

    >>> reg = l1_regularizer(0.1)
    >>> reg
    l1_regularizer(scale=0.1)
    >>> reg(jnp.array([1.0, -2.0, 3.0]))
    Array(0.6, dtype=float32)

    TF1 equivalent: ``tf.contrib.layers.l1_regularizer``.
    """
    value = _check_scale(scale, "l1_regularizer")
    return no_regularizer if value is None else L1Regularizer(value)


def l2_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """Returns ``weights -> scale * sum(weights ** 2) / 2``, i.e. ``scale * tf.nn.l2_loss(w)``.

    The gradient is ``scale * weights`` (weight decay). ``scale`` must be a float ``>= 0.0`` (an
    integer raises, as in TF1); ``0.0`` disables the regularizer (`no_regularizer`). ``scope`` is
    ignored (op names have no JAX counterpart).

    >>> l2_regularizer(0.1)(jnp.array([1.0, -2.0, 3.0]))
    Array(0.7, dtype=float32)
    >>> jax.grad(l2_regularizer(0.5))(jnp.array([2.0, -4.0]))
    Array([ 1., -2.], dtype=float32)

    TF1 equivalent: ``tf.contrib.layers.l2_regularizer``.
    """
    value = _check_scale(scale, "l2_regularizer")
    return no_regularizer if value is None else L2Regularizer(value)


def l1_l2_regularizer(
    scale_l1: float = 1.0, scale_l2: float = 1.0, scope: str | None = None
) -> Regularizer:
    """Returns ``weights -> scale_l1 * sum(|weights|) + scale_l2 * sum(weights ** 2) / 2``.

    As in TF1: if one scale is ``0.0`` this is just the other regularizer (`no_regularizer` if
    both are), otherwise the `sum_regularizer` of both. ``scope`` is ignored.

    >>> reg = l1_l2_regularizer(0.5, 0.5)
    >>> reg
    sum_regularizer([l1_regularizer(scale=0.5), l2_regularizer(scale=0.5)])
    >>> reg(jnp.array([1.0, -2.0]))
    Array(2.75, dtype=float32)
    >>> l1_l2_regularizer(0.0, 0.5)
    l2_regularizer(scale=0.5)

    TF1 equivalent: ``tf.contrib.layers.l1_l2_regularizer``.
    """
    fn = "l1_l2_regularizer"
    for arg, scale in (("scale_l1", scale_l1), ("scale_l2", scale_l2)):
        if isinstance(scale, numbers.Integral):  # TF1 checks both for ints before anything else
            _check_scale(scale, fn, arg)
    l1, l2 = _check_scale(scale_l1, fn, "scale_l1"), _check_scale(scale_l2, fn, "scale_l2")
    if l1 is None:
        return no_regularizer if l2 is None else L2Regularizer(l2)
    if l2 is None:
        return L1Regularizer(l1)
    return SumRegularizer((L1Regularizer(l1), L2Regularizer(l2)))


def sum_regularizer(
    regularizer_list: Iterable[Regularizer | None], scope: str | None = None
) -> Regularizer | None:
    """Returns a regularizer summing the losses of ``regularizer_list``, or ``None`` if it is empty.

    ``None`` entries are dropped first. When called, the regularizers returning ``None`` are left
    out of the sum, and it returns ``None`` if they all do. ``scope`` is ignored.

    >>> sum_regularizer([l1_regularizer(0.5), None, l2_regularizer(0.5)])(jnp.array([1.0, -2.0]))
    Array(2.75, dtype=float32)
    >>> sum_regularizer([None]) is None
    True
    >>> sum_regularizer([no_regularizer])(jnp.ones(2)) is None
    True

    TF1 equivalent: ``tf.contrib.layers.sum_regularizer``.
    """
    if callable(regularizer_list) or isinstance(regularizer_list, str | bytes):
        raise ScopeTypeError(
            f"sum_regularizer expects a list of regularizers, got {regularizer_list!r}; wrap a "
            "single one in a list: sum_regularizer([reg])."
        )
    try:
        regularizers = tuple(reg for reg in regularizer_list if reg is not None)
    except TypeError as e:
        raise ScopeTypeError(
            f"sum_regularizer expects a list of regularizers, got {regularizer_list!r} of type "
            f"{type(regularizer_list).__name__}; pass e.g. [l1_regularizer(0.01), "
            "l2_regularizer(0.01)]."
        ) from e
    return SumRegularizer(regularizers) if regularizers else None
