"""Convolutions: ``conv1d``, ``conv2d``, ``conv3d``, ``conv2d_transpose``, ``separable_conv2d``.

Variable names, shapes and initializers are TF1's (``tf.compat.v1.layers``): ``kernel``
``kernel_size + [in_channels, filters]`` (transpose: ``kernel_size + [filters, in_channels]``),
``bias`` ``[filters]``; separable: ``depthwise_kernel`` ``kernel_size + [in, depth_multiplier]``,
``pointwise_kernel`` ``[1, 1, in * depth_multiplier, filters]``. Layout defaults to
channels_last (NWC / NHWC / NDHWC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from scopejax._src.errors import ScopeTypeError
from scopejax._src.layers_base import (
    Activation,
    activate,
    add_weight,
    as_array,
    bias_shape,
    check_positive_int,
    check_rank,
    float_dtype,
    layer_scope,
)
from scopejax._src.layers_core import ZEROS

IntOrTuple = int | Sequence[int]
_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _tuple(layer: str, arg: str, value: Any, n: int) -> tuple[int, ...]:
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ScopeTypeError(
            f"{layer}: {arg} must be a positive int or a tuple of {n} positive ints, got "
            f"{value!r}."
        )
    return values


def _padding(layer: str, padding: Any, allowed: Sequence[str]) -> str:
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ScopeTypeError(
            f"{layer}: padding must be one of {', '.join(map(repr, allowed))}, got {padding!r}."
        )
    return value


def _data_format(layer: str, data_format: Any) -> bool:
    """True for channels_last."""
    if data_format not in ("channels_last", "channels_first"):
        raise ScopeTypeError(
            f"{layer}: data_format must be 'channels_last' or 'channels_first', got "
            f"{data_format!r}."
        )
    return data_format == "channels_last"


def _dimension_numbers(n: int, channels_last: bool, kernel: str) -> tuple[str, str, str]:
    spatial = _SPATIAL[n]
    lhs = f"N{spatial}C" if channels_last else f"NC{spatial}"
    return lhs, spatial + kernel, lhs


class _Args:
    """Checked arguments shared by the convolutions."""

    def __init__(self, layer: str, inputs: Any, rank: int, filters: Any, kernel_size: Any,
                 strides: Any, padding: Any, data_format: Any, dilation_rate: Any,
                 paddings: Sequence[str] = ("valid", "same")) -> None:  # fmt: skip
        self.inputs = as_array(layer, inputs)
        check_rank(layer, self.inputs, rank + 2, f" ({rank + 2}D: batch, {rank} spatial, channels)")
        self.filters = check_positive_int(layer, "filters", filters)
        self.kernel_size = _tuple(layer, "kernel_size", kernel_size, rank)
        self.strides = _tuple(layer, "strides", strides, rank)
        self.dilation = _tuple(layer, "dilation_rate", dilation_rate, rank)
        if max(self.strides) > 1 and max(self.dilation) > 1:
            raise ScopeTypeError(
                f"{layer}: strides > 1 not supported in conjunction with dilation_rate > 1 (got "
                f"strides={self.strides}, dilation_rate={self.dilation}); TF1 refuses this too."
            )
        self.padding = _padding(layer, padding, paddings)
        self.channels_last = _data_format(layer, data_format)
        self.channel_axis = self.inputs.ndim - 1 if self.channels_last else 1
        self.in_channels = self.inputs.shape[self.channel_axis]
        self.dtype = float_dtype(layer, self.inputs)
        self.rank = rank

    def add_bias(self, outputs: Any, bias: Any) -> Any:
        return outputs + bias_shape(bias, outputs.ndim, self.channel_axis)


def _conv(layer: str, rank: int, inputs: Any, filters: int, kernel_size: IntOrTuple,
          strides: IntOrTuple, padding: str, data_format: str, dilation_rate: IntOrTuple,
          activation: Activation, use_bias: bool, kernel_initializer: Any,
          bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
          kernel_constraint: Any, bias_constraint: Any, trainable: bool, name: str | None,
          reuse: Any) -> Any:  # fmt: skip
    paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    a = _Args(layer, inputs, rank, filters, kernel_size, strides, padding, data_format,
              dilation_rate, paddings)  # fmt: skip
    with layer_scope(layer, name, reuse) as captured:
        kernel, bias = _kernel_and_bias(
            captured, reuse, [*a.kernel_size, a.in_channels, a.filters], a, use_bias,
            (kernel_initializer, kernel_regularizer, kernel_constraint),
            (bias_initializer, bias_regularizer, bias_constraint), trainable)  # fmt: skip
        x, pad = a.inputs, a.padding.upper()
        if a.padding == "causal":  # conv1d only: left-pad the time axis
            left = a.dilation[0] * (a.kernel_size[0] - 1)
            widths = [(0, 0)] * 3
            widths[1 if a.channels_last else 2] = (left, 0)
            x, pad = jnp.pad(x, widths), "VALID"
        outputs = jax.lax.conv_general_dilated(
            x, kernel, window_strides=a.strides, padding=pad, rhs_dilation=a.dilation,
            dimension_numbers=_dimension_numbers(rank, a.channels_last, "IO"),
        )  # fmt: skip
        if bias is not None:
            outputs = a.add_bias(outputs, bias)
        return activate(activation, outputs, layer)


def _kernel_and_bias(captured: Any, reuse: Any, kernel_shape: list[int], a: Any,
                     use_bias: bool, kernel_args: tuple[Any, Any, Any],
                     bias_args: tuple[Any, Any, Any],
                     trainable: Any) -> tuple[Any, Any]:  # fmt: skip
    """``<scope>/kernel`` then (with ``use_bias``) ``<scope>/bias`` ``[filters]``, as TF1 creates
    them; ``*_args`` are ``(initializer, regularizer, constraint)``."""
    kernel = add_weight(captured, reuse, "kernel", kernel_shape, a.dtype, *kernel_args, trainable)
    if not use_bias:
        return kernel, None
    return kernel, add_weight(captured, reuse, "bias", [a.filters], a.dtype, *bias_args, trainable)


def conv1d(inputs: Any, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
           padding: str = "valid", data_format: str = "channels_last",
           dilation_rate: IntOrTuple = 1, activation: Activation = None, use_bias: bool = True,
           kernel_initializer: Any = None, bias_initializer: Any = ZEROS,
           kernel_regularizer: Any = None, bias_regularizer: Any = None,
           kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
           name: str | None = None, reuse: Any = None) -> Any:  # fmt: skip
    """1-D convolution over ``[batch, width, channels]``; ``padding`` also takes ``"causal"``.

    Variables ``<scope>/kernel`` ``[k, in, filters]`` and ``<scope>/bias`` (scope ``conv1d``,
    ``conv1d_1``... or ``name``). TF1 equivalent: ``tf.compat.v1.layers.conv1d``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.conv1d(x, 4, 3, padding="causal"))
    >>> params = net.init(jax.random.key(0), jnp.ones((1, 10, 2)))
    >>> params["conv1d/kernel"].shape, net.apply(params, jnp.ones((1, 10, 2))).shape
    ((3, 2, 4), (1, 10, 4))
    """
    return _conv("conv1d", 1, inputs, filters, kernel_size, strides, padding, data_format,
                 dilation_rate, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 trainable, name, reuse)  # fmt: skip


def conv2d(inputs: Any, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
           padding: str = "valid", data_format: str = "channels_last",
           dilation_rate: IntOrTuple = (1, 1), activation: Activation = None,
           use_bias: bool = True, kernel_initializer: Any = None,
           bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
           bias_regularizer: Any = None, kernel_constraint: Any = None,
           bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
           reuse: Any = None) -> Any:  # fmt: skip
    """2-D convolution over NHWC (or NCHW with ``data_format="channels_first"``) inputs.

    Variables ``<scope>/kernel`` ``[kh, kw, in, filters]`` (scope initializer, else glorot
    uniform) and ``<scope>/bias`` ``[filters]`` (zeros); scope ``conv2d``, ``conv2d_1``... or
    ``name``. ``padding`` is ``"valid"`` or ``"same"`` (TF's SAME arithmetic).

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.conv2d(x, 4, 3, strides=2, padding="same"))
    >>> x = jnp.ones((1, 8, 8, 3))
    >>> params = net.init(jax.random.key(0), x)
    >>> params["conv2d/kernel"].shape, net.apply(params, x).shape
    ((3, 3, 3, 4), (1, 4, 4, 4))

    TF1 equivalent: ``tf.compat.v1.layers.conv2d``.
    """
    return _conv("conv2d", 2, inputs, filters, kernel_size, strides, padding, data_format,
                 dilation_rate, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 trainable, name, reuse)  # fmt: skip


def conv3d(inputs: Any, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1, 1),
           padding: str = "valid", data_format: str = "channels_last",
           dilation_rate: IntOrTuple = (1, 1, 1), activation: Activation = None,
           use_bias: bool = True, kernel_initializer: Any = None,
           bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
           bias_regularizer: Any = None, kernel_constraint: Any = None,
           bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
           reuse: Any = None) -> Any:  # fmt: skip
    """3-D convolution over NDHWC inputs; kernel ``[kd, kh, kw, in, filters]``.

    TF1 equivalent: ``tf.compat.v1.layers.conv3d``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.conv3d(x, 2, 3, name="c3"))
    >>> x = jnp.ones((1, 4, 4, 4, 1))
    >>> params = net.init(jax.random.key(0), x)
    >>> params["c3/kernel"].shape, net.apply(params, x).shape
    ((3, 3, 3, 1, 2), (1, 2, 2, 2, 2))
    """
    return _conv("conv3d", 3, inputs, filters, kernel_size, strides, padding, data_format,
                 dilation_rate, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 trainable, name, reuse)  # fmt: skip


def conv2d_transpose(inputs: Any, filters: int, kernel_size: IntOrTuple,
                     strides: IntOrTuple = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Activation = None,
                     use_bias: bool = True, kernel_initializer: Any = None,
                     bias_initializer: Any = ZEROS, kernel_regularizer: Any = None,
                     bias_regularizer: Any = None, kernel_constraint: Any = None,
                     bias_constraint: Any = None, trainable: bool = True,
                     name: str | None = None, reuse: Any = None) -> Any:  # fmt: skip
    """Transposed 2-D convolution ("deconvolution"): the gradient of ``conv2d``.

    Variables ``<scope>/kernel`` ``[kh, kw, filters, in]`` (note the order, as TF1) and
    ``<scope>/bias`` ``[filters]``; scope ``conv2d_transpose``... Output size per spatial dim:
    ``in * stride`` (``same``) or ``in * stride + max(k - stride, 0)`` (``valid``).

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.conv2d_transpose(x, 2, 3, strides=2))
    >>> x = jnp.ones((1, 4, 4, 5))
    >>> params = net.init(jax.random.key(0), x)
    >>> params["conv2d_transpose/kernel"].shape, net.apply(params, x).shape
    ((3, 3, 2, 5), (1, 9, 9, 2))

    TF1 equivalent: ``tf.compat.v1.layers.conv2d_transpose``.
    """
    layer = "conv2d_transpose"
    a = _Args(layer, inputs, 2, filters, kernel_size, strides, padding, data_format, 1)
    with layer_scope(layer, name, reuse) as captured:
        kernel, bias = _kernel_and_bias(
            captured, reuse, [*a.kernel_size, a.filters, a.in_channels], a, use_bias,
            (kernel_initializer, kernel_regularizer, kernel_constraint),
            (bias_initializer, bias_regularizer, bias_constraint), trainable)  # fmt: skip
        outputs = jax.lax.conv_transpose(
            a.inputs, kernel, a.strides, a.padding.upper(),
            dimension_numbers=_dimension_numbers(2, a.channels_last, "IO"),
            transpose_kernel=True,
        )  # fmt: skip
        if bias is not None:
            outputs = a.add_bias(outputs, bias)
        return activate(activation, outputs, layer)


def separable_conv2d(inputs: Any, filters: int, kernel_size: IntOrTuple,
                     strides: IntOrTuple = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", dilation_rate: IntOrTuple = (1, 1),
                     depth_multiplier: int = 1, activation: Activation = None,
                     use_bias: bool = True, depthwise_initializer: Any = None,
                     pointwise_initializer: Any = None, bias_initializer: Any = ZEROS,
                     depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                     bias_regularizer: Any = None, depthwise_constraint: Any = None,
                     pointwise_constraint: Any = None, bias_constraint: Any = None,
                     trainable: bool = True, name: str | None = None,
                     reuse: Any = None) -> Any:  # fmt: skip
    """Depthwise convolution per input channel, then a 1x1 pointwise convolution.

    Variables (in creation order) ``<scope>/depthwise_kernel`` ``[kh, kw, in, depth_multiplier]``,
    ``<scope>/pointwise_kernel`` ``[1, 1, in * depth_multiplier, filters]``, ``<scope>/bias``;
    scope ``separable_conv2d``... TF1 equivalent: ``tf.compat.v1.layers.separable_conv2d``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.separable_conv2d(x, 8, 3, depth_multiplier=2))
    >>> params = net.init(jax.random.key(0), jnp.ones((1, 6, 6, 3)))
    >>> [params[n].shape for n in ("separable_conv2d/depthwise_kernel",
    ...                            "separable_conv2d/pointwise_kernel")]
    [(3, 3, 3, 2), (1, 1, 6, 8)]
    """
    layer = "separable_conv2d"
    a = _Args(layer, inputs, 2, filters, kernel_size, strides, padding, data_format,
              dilation_rate)  # fmt: skip
    multiplier = check_positive_int(layer, "depth_multiplier", depth_multiplier)
    with layer_scope(layer, name, reuse) as captured:
        depthwise = add_weight(captured, reuse, "depthwise_kernel",
                               [*a.kernel_size, a.in_channels, multiplier], a.dtype,
                               depthwise_initializer, depthwise_regularizer,
                               depthwise_constraint, trainable)  # fmt: skip
        pointwise = add_weight(captured, reuse, "pointwise_kernel",
                               [1, 1, a.in_channels * multiplier, a.filters], a.dtype,
                               pointwise_initializer, pointwise_regularizer,
                               pointwise_constraint, trainable)  # fmt: skip
        bias = None
        if use_bias:
            bias = add_weight(captured, reuse, "bias", [a.filters], a.dtype, bias_initializer,
                              bias_regularizer, bias_constraint, trainable)  # fmt: skip
        numbers = _dimension_numbers(2, a.channels_last, "IO")
        # Output channel c * multiplier + m comes from input channel c, as in TF's depthwise op.
        grouped = depthwise.reshape(*a.kernel_size, 1, a.in_channels * multiplier)
        mid = jax.lax.conv_general_dilated(
            a.inputs, grouped, a.strides, a.padding.upper(), rhs_dilation=a.dilation,
            dimension_numbers=numbers, feature_group_count=a.in_channels,
        )  # fmt: skip
        outputs = jax.lax.conv_general_dilated(mid, pointwise, (1, 1), "VALID",
                                               dimension_numbers=numbers)  # fmt: skip
        if bias is not None:
            outputs = a.add_bias(outputs, bias)
        return activate(activation, outputs, layer)


__all__ = ["conv1d", "conv2d", "conv2d_transpose", "conv3d", "separable_conv2d"]
