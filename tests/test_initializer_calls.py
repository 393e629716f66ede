"""default_initializer, constant_dtype and call_initializer: how get_variable uses initializers."""

from __future__ import annotations

import functools
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scopejax._src import initializer_calls as C
from scopejax._src import initializers as I
from scopejax._src.errors import InitializerError, InitializerTypeError, ScopeJaxError

HAS_TF = importlib.util.find_spec("tensorflow") is not None
requires_tf = pytest.mark.skipif(
    not HAS_TF,
    reason="differential test against tf.compat.v1 needs TensorFlow (pip install 'scopejax[tf]')",
)

KEY = jax.random.key(0)
SMALL = (4, 3)


# ----------------------------------------------------------------------------- default_initializer


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
def test_default_initializer_for_floats_is_glorot_uniform(dtype):
    init = C.default_initializer(dtype, "w")
    assert init == I.glorot_uniform_initializer()
    out = jax.eval_shape(lambda key: init(key, SMALL, dtype), KEY)
    assert out.dtype == jax.dtypes.canonicalize_dtype(dtype)


@pytest.mark.parametrize("dtype", [jnp.int8, jnp.int32, np.int64, jnp.uint8, jnp.uint32, jnp.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_default_initializer_for_ints_and_bools_is_zeros(dtype):
    init = C.default_initializer(dtype, "step")
    assert init == I.zeros_initializer()
    assert not bool(jnp.any(init(None, (3,), dtype)))


@pytest.mark.parametrize("dtype", [jnp.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_default_initializer_for_complex_raises_tf_message(dtype):
    name = np.dtype(dtype).name
    with pytest.raises(
        InitializerError, match=rf"^An initializer for variable c of <dtype: '{name}'> is required"
    ):
        C.default_initializer(dtype, "c")


def test_default_initializer_rejects_other_dtypes():
    with pytest.raises(InitializerTypeError, match=r"Variable s has dtype <U3"):
        C.default_initializer(np.dtype("U3"), "s")
    with pytest.raises(InitializerTypeError, match="is not a dtype"):
        C.default_initializer(object(), "s")


# ----------------------------------------------------------------------------- constant_dtype

CONSTANT_DTYPES = [
    (True, np.bool_), (3, np.int32), (2**31, np.int32), (-(2**31), np.int32),
    (2.5, np.float32), (1j, np.complex64), ([1, 2], np.int32), ((1, 2.0), np.float32),
    ([[1], [2.0]], np.float32), ([True, False], np.bool_), ([], np.float32),
    ([[1j, 2], [3, 1.0]], np.complex64), ([1, True], np.int32), ([1.0, True], np.float32),
    (np.float64(1.0), np.float32), (np.int8(3), np.int8),
    (np.array([1, 2], np.uint16), np.uint16), (jnp.ones(2, jnp.bfloat16), jnp.bfloat16),
    ([np.float16(1.0), 2.0], np.float16),
]


@pytest.mark.parametrize(("value", "dtype"), CONSTANT_DTYPES, ids=repr)
def test_constant_dtype(value, dtype):
    assert C.constant_dtype(value) == np.dtype(dtype)


def test_constant_dtype_without_canonicalisation():
    with jax.enable_x64(True):
        assert C.constant_dtype(2**31) == np.int64
        assert C.constant_dtype(2**31 - 1) == np.int32
        assert C.constant_dtype([1, 2**40]) == np.int64
        assert C.constant_dtype(1j) == np.complex128
        assert C.constant_dtype(np.float64(1.0)) == np.float64
        assert C.constant_dtype(1.0) == np.float32


def test_constant_dtype_errors():
    for mixed in ([True, 1], [True, 1.0], [1, 1j], [1.0, 2j], [[1], [1j]]):
        with pytest.raises(InitializerError, match="Python sequence with mixed types"):
            C.constant_dtype(mixed)
    with pytest.raises(InitializerTypeError, match="Cannot infer a dtype from 'x' of type str"):
        C.constant_dtype([1, "x"])
    with pytest.raises(InitializerTypeError, match="Cannot infer a dtype from None"):
        C.constant_dtype(None)


# ----------------------------------------------------------------------------- call_initializer


def test_call_initializer_jax_style():
    init = jax.nn.initializers.lecun_normal()
    out = C.call_initializer(init, KEY, SMALL, np.float32)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(init(KEY, SMALL, jnp.float32)))
    assert C.call_initializer(jax.nn.initializers.zeros, None, (2,), jnp.int32).dtype == np.int32


def test_call_initializer_our_initializers_and_classes():
    out = C.call_initializer(I.glorot_uniform_initializer(), KEY, [4, 3], np.float64)
    assert out.shape == SMALL and out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out),
                                  np.asarray(I.glorot_uniform_initializer()(KEY, SMALL)))
    # `initializer=zeros_initializer` (the class, no parentheses) is instantiated, as in TF1.
    assert C.call_initializer(I.zeros_initializer, None, (2,), jnp.int32).tolist() == [0, 0]


def test_call_initializer_tf1_style_with_partition_info():
    calls = []

    def init(shape, dtype=None, partition_info=None):
        calls.append((shape, dtype, partition_info))
        return np.ones(shape)

    out = C.call_initializer(init, KEY, (2, 3), np.float64)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(out), np.ones((2, 3)))
    assert calls == [([2, 3], np.dtype(np.float32), None)]  # TF1 passes shape.as_list()
    lam = lambda shape, dtype=None, partition_info=None: np.ones(shape)
    assert C.call_initializer(lam, None, (4,), jnp.bfloat16).dtype == jnp.bfloat16


def test_call_initializer_tf1_style_without_partition_info_or_with_kwargs():
    seen = []
    C.call_initializer(lambda shape, dtype: seen.append(dtype) or np.zeros(shape), None, (2,),
                       np.int32)
    C.call_initializer(lambda shape, **kw: seen.append(sorted(kw)) or np.zeros(shape), None,
                       (2,), np.int32)
    assert seen == [np.dtype(np.int32), ["dtype", "partition_info"]]


def test_call_initializer_wrong_result_shape():
    with pytest.raises(
        InitializerError,
        match=r"initializer returned shape \(3,\) but the variable has shape \(2, 2\)",
    ):
        C.call_initializer(lambda shape, dtype=None: np.ones(3), None, (2, 2), np.float32)
    with pytest.raises(InitializerError, match=r"returned shape \(\) but the variable has shape"):
        C.call_initializer(lambda key, shape, dtype: 1.0, KEY, (2,), np.float32)


def test_call_initializer_zero_arg_callable_raises_type_error_with_how_it_was_called():
    with pytest.raises(InitializerTypeError, match=r"as `init\(key, shape, dtype\)`") as info:
        C.call_initializer(lambda: 1.0, KEY, (2,), np.float32)
    assert isinstance(info.value.__cause__, TypeError)
    assert "takes 0 positional arguments" in str(info.value)
    assert "must name their first parameter `shape`" in str(info.value)


def test_call_initializer_tf1_style_type_error_mentions_tf1_call():
    def init(shape, dtype=None, partition_info=None):
        raise TypeError("boom")

    with pytest.raises(
        InitializerTypeError, match=r"as `init\(shape, dtype=\.\.\., partition_info=\.\.\.\)`.*boom"
    ) as info:
        C.call_initializer(init, None, (2,), np.float32)
    assert str(info.value.__cause__) == "boom"


def test_call_initializer_passes_scopejax_errors_through():
    with pytest.raises(InitializerError, match="needs a PRNG key") as info:
        C.call_initializer(I.random_normal_initializer(), None, (2,), np.float32)
    assert info.value.__cause__ is None
    with pytest.raises(InitializerTypeError, match=r"Expected int32, but got 1\.0") as info:
        C.call_initializer(I.constant_initializer(1.0), None, (2,), np.int32)
    assert isinstance(info.value, ScopeJaxError) and isinstance(info.value, TypeError)


def test_call_initializer_with_unhashable_callable_and_bound_methods():
    class Init:
        __hash__ = None  # unhashable, like a dataclass with eq=True

        def __call__(self, shape, dtype=None):
            return np.full(shape, 2.0)

        def jax_style(self, key, shape, dtype):
            return jnp.full(shape, 3.0, dtype)

    for _ in range(2):  # second call uses the signature cache
        assert C.call_initializer(Init(), None, (2,), np.float32).tolist() == [2.0, 2.0]
        assert C.call_initializer(Init().jax_style, KEY, (2,), np.float32).tolist() == [3.0, 3.0]
    partial = functools.partial(lambda fill, shape, dtype=None: np.full(shape, fill), 4.0)
    assert C.call_initializer(partial, KEY, (1,), np.float32).tolist() == [4.0]  # not TF1 style


def test_call_initializer_signature_cache_respects_functools_wraps():
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

        return wrapper

    tf1 = decorate(lambda shape, dtype=None: np.ones(shape))
    jax_style = decorate(lambda key, shape, dtype=None: jnp.zeros(shape, dtype))
    assert tf1.__code__ is jax_style.__code__  # same wrapper code, different signatures
    assert C.call_initializer(tf1, None, (2,), np.float32).tolist() == [1.0, 1.0]
    assert C.call_initializer(jax_style, KEY, (2,), np.float32).tolist() == [0.0, 0.0]


def test_call_initializer_under_jit_with_traced_key():
    @jax.jit
    def make(key):
        return C.call_initializer(I.orthogonal_initializer(), key, (4, 4), np.float32)

    q = np.asarray(make(KEY))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)


def test_call_initializer_not_callable():
    with pytest.raises(InitializerTypeError, match="'int' object is not callable"):
        C.call_initializer(3, KEY, (2,), np.float32)


