"""Tests for scopejax._src.initializers: shapes, dtypes, keys, statistics, errors and dispatch.

Differential tests sample the real ``tf.compat.v1`` initializers eagerly; they are skipped (with a
reason) when TensorFlow is not installed, the rest of the file always runs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scopejax._src import initializer_calls as C
from scopejax._src import initializers as I
from scopejax._src.errors import InitializerError, InitializerTypeError

HAS_TF = importlib.util.find_spec("tensorflow") is not None
requires_tf = pytest.mark.skipif(
    not HAS_TF,
    reason="differential test against tf.compat.v1 needs TensorFlow (pip install 'scopejax[tf]')",
)

KEY = jax.random.key(0)
# Statistical tests share a few big shapes (each new shape costs an XLA compilation).
MATRIX = (400, 500)  # 200,000 samples: the standard error of a mean is about 0.0022 sigma
SMALL = (4, 3)  # the shape of all small concrete samples

RANDOM_INITS = {
    "random_normal": lambda: I.random_normal_initializer(0.5, 2.0),
    "truncated_normal": lambda: I.truncated_normal_initializer(0.5, 2.0),
    "random_uniform": lambda: I.random_uniform_initializer(-1.0, 3.0),
    "glorot_uniform": I.glorot_uniform_initializer,
    "glorot_normal": I.glorot_normal_initializer,
    "variance_scaling": lambda: I.variance_scaling_initializer(2.0, "fan_out", "uniform"),
    "orthogonal": lambda: I.orthogonal_initializer(gain=1.5),
}
DETERMINISTIC_INITS = {
    "zeros": I.zeros_initializer,
    "ones": I.ones_initializer,
    "constant": lambda: I.constant_initializer(3.0),
}
ALL_INITS = {**RANDOM_INITS, **DETERMINISTIC_INITS}
SHAPES = [(), (7,), (3, 4), (2, 3, 4, 5)]
FLOATS = [jnp.float32, jnp.bfloat16, jnp.float16]


@pytest.fixture(autouse=True)
def _strict_rank_promotion():
    with jax.numpy_rank_promotion("raise"):
        yield


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _cases(names, shapes):
    return [
        pytest.param(name, shape, id=f"{name}-{shape}")
        for name in names
        for shape in shapes
        if not (name == "orthogonal" and len(shape) < 2)
    ]


# ----------------------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize(("name", "shape"), _cases(ALL_INITS, SHAPES))
@pytest.mark.parametrize("dtype", [None, *FLOATS, np.float64], ids=lambda d: np.dtype(d).name)
def test_shape_and_dtype(name, shape, dtype):
    # eval_shape traces with an abstract key (no compilation, so the whole matrix is cheap).
    init = ALL_INITS[name]()
    out = jax.eval_shape(lambda key: init(key, shape, dtype), KEY)
    assert out.shape == shape
    assert out.dtype == (np.float32 if dtype in (None, np.float64) else np.dtype(dtype))


@pytest.mark.parametrize("name", ALL_INITS)
def test_concrete_values_are_float32_arrays_and_finite(name):
    out = ALL_INITS[name]()(KEY, SMALL)
    assert isinstance(out, jax.Array) and out.shape == SMALL and out.dtype == np.float32
    assert bool(jnp.all(jnp.isfinite(out)))
    assert ALL_INITS[name]()(KEY, SMALL, np.float64).dtype == np.float32  # x64 is off


@pytest.mark.parametrize("name", ["truncated_normal", "orthogonal"])
def test_concrete_values_in_low_precision(name):
    out = ALL_INITS[name]()(KEY, SMALL, jnp.bfloat16)
    assert out.dtype == jnp.bfloat16
    assert bool(jnp.all(jnp.isfinite(out.astype(jnp.float32))))


def test_float64_with_x64_enabled():
    with jax.enable_x64(True):
        assert I.random_normal_initializer()(KEY, SMALL, np.float64).dtype == np.float64
        assert I.zeros_initializer()(None, SMALL, np.float64).dtype == np.float64


def test_constructor_dtype_is_the_default_and_accepts_jnp_and_numpy_types():
    assert I.random_normal_initializer(dtype=jnp.bfloat16)(KEY, SMALL).dtype == jnp.bfloat16
    assert I.zeros_initializer(np.int8)(None, (2,)).dtype == np.int8
    assert I.ones_initializer("float16")(None, (2,)).dtype == np.float16


@pytest.mark.parametrize(
    "dtype",
    [jnp.bool_, jnp.int8, jnp.uint8, jnp.int32, jnp.uint32, jnp.float16, jnp.bfloat16,
     jnp.complex64],
    ids=lambda d: np.dtype(d).name,
)
def test_zeros_and_ones_work_for_every_dtype(dtype):
    zeros = I.zeros_initializer()(None, (2, 3), dtype)
    ones = I.ones_initializer()(None, (2, 3), dtype)
    assert zeros.dtype == ones.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(zeros), np.zeros((2, 3), dtype))
    np.testing.assert_array_equal(np.asarray(ones), np.ones((2, 3), dtype))


def test_shape_accepts_lists_and_numpy_ints_and_rejects_bad_shapes():
    assert I.zeros_initializer()(None, [np.int64(2), 3]).shape == (2, 3)
    with pytest.raises(InitializerError, match=r"sequence of ints, got \(2, None\)"):
        I.zeros_initializer()(None, (2, None))
    with pytest.raises(InitializerError, match=r"negative dimensions, got \(2, -1\)"):
        I.random_normal_initializer()(KEY, (2, -1))


# ----------------------------------------------------------------------------- keys and seeds


@pytest.mark.parametrize("name", RANDOM_INITS)
def test_same_key_same_values_different_keys_differ(name):
    init = RANDOM_INITS[name]()
    a, b = init(KEY, (4, 3)), init(KEY, (4, 3))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    c = init(jax.random.key(1), (4, 3))
    assert not np.allclose(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("name", RANDOM_INITS)
def test_raw_and_typed_keys_give_the_same_values(name):
    init = RANDOM_INITS[name]()
    typed = init(jax.random.key(42), (4, 3))
    raw = init(jax.random.PRNGKey(42), (4, 3))
    np.testing.assert_array_equal(np.asarray(typed), np.asarray(raw))


@pytest.mark.parametrize("name", ["random_normal", "truncated_normal", "random_uniform",
                                  "glorot_uniform", "orthogonal"])
def test_seed_is_folded_into_the_key(name):
    cls = type(RANDOM_INITS[name]())
    fields = {f.name: getattr(RANDOM_INITS[name](), f.name) for f in dataclasses.fields(cls)}
    make = lambda seed: cls(**{**fields, "seed": seed})
    values = {seed: np.asarray(make(seed)(KEY, (4, 3))) for seed in (None, 0, 1, 2**40, -1)}
    for s1 in values:
        for s2 in values:
            assert (s1 == s2) == np.array_equal(values[s1], values[s2]), (s1, s2)
    np.testing.assert_array_equal(values[1], np.asarray(make(1)(KEY, (4, 3))))
    expected_key = jax.random.fold_in(KEY, 1)
    np.testing.assert_array_equal(values[1], np.asarray(make(None)(expected_key, (4, 3))))


def test_works_under_jit_and_vmap_over_keys():
    inits = {name: make() for name, make in ALL_INITS.items()}
    keys = jax.random.split(KEY, 3)
    # One compiled program traces every initializer under both transformations (tracer keys).
    batched = jax.jit(jax.vmap(lambda k: {n: init(k, SMALL) for n, init in inits.items()}))(keys)
    for name, init in inits.items():
        assert batched[name].shape == (3, *SMALL), name
        for i in range(3):
            np.testing.assert_allclose(np.asarray(batched[name][i]),
                                       np.asarray(init(keys[i], SMALL)),
                                       rtol=1e-5, atol=1e-6, err_msg=name)


def test_initializers_are_hashable_so_they_can_be_static_jit_arguments():
    make = jax.jit(lambda key, init: init(key, (3,)), static_argnums=1)
    np.testing.assert_array_equal(np.asarray(make(KEY, I.constant_initializer([1, 2, 3]))),
                                  [1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", RANDOM_INITS)
def test_random_initializer_without_key_raises(name):
    tf_name = RANDOM_INITS[name]()._tf_name
    with pytest.raises(InitializerError, match=rf"{tf_name} is random and needs a PRNG key"):
        RANDOM_INITS[name]()(None, (3, 3))
    with pytest.raises(InitializerTypeError, match=r"needs a JAX PRNG key .* got 0"):
        RANDOM_INITS[name]()(0, (3, 3))


@pytest.mark.parametrize("name", DETERMINISTIC_INITS)
def test_deterministic_initializers_accept_key_none(name):
    assert DETERMINISTIC_INITS[name]()(None, (2,)).shape == (2,)


# ----------------------------------------------------------------------------- statistics


def test_random_normal_moments():
    x = np.asarray(I.random_normal_initializer(mean=0.5, stddev=2.0)(KEY, MATRIX), np.float64)
    assert x.mean() == pytest.approx(0.5, abs=0.02)
    assert x.std() == pytest.approx(2.0, rel=0.01)
    assert np.abs(x - 0.5).max() > 4 * 2.0  # untruncated: tails beyond 4 sigma exist


def test_truncated_normal_is_truncated_at_two_stddev_and_not_rescaled():
    x = np.asarray(I.truncated_normal_initializer(mean=0.5, stddev=2.0)(KEY, MATRIX), np.float64)
    assert x.min() >= 0.5 - 4.0 and x.max() <= 0.5 + 4.0
    assert x.min() < 0.5 - 3.95 and x.max() > 0.5 + 3.95
    assert x.mean() == pytest.approx(0.5, abs=0.02)
    assert x.std() / 2.0 == pytest.approx(0.8796, abs=0.006)  # TF1 rule 30: ≈ 0.88 stddev


def test_random_uniform_float_limits_and_mean():
    x = np.asarray(I.random_uniform_initializer(-1.0, 3.0)(KEY, MATRIX), np.float64)
    assert x.min() >= -1.0 and x.max() < 3.0
    assert x.min() < -0.99 and x.max() > 2.99
    assert x.mean() == pytest.approx(1.0, abs=0.02)
    default = np.asarray(I.random_uniform_initializer()(KEY, MATRIX))
    assert default.min() >= 0.0 and default.max() < 1.0 and default.max() > 0.999


def test_random_uniform_integer_dtypes():
    x = np.asarray(I.random_uniform_initializer(2, 9, dtype=jnp.int32)(KEY, (1000,)))
    assert x.dtype == np.int32
    assert sorted(set(x.tolist())) == list(range(2, 9))  # maxval is exclusive, like TF
    for dtype in (jnp.uint8, jnp.int8, jnp.int16):
        init = I.random_uniform_initializer(0, 5, dtype=dtype)
        assert jax.eval_shape(lambda key, init=init: init(key, SMALL), KEY).dtype == dtype


def test_glorot_uniform_limit_is_reached_but_not_exceeded():
    limit = math.sqrt(6.0 / (400 + 500))
    x = np.asarray(I.glorot_uniform_initializer()(KEY, MATRIX), np.float64)
    assert np.abs(x).max() <= limit
    assert np.abs(x).max() / limit > 0.99
    assert x.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.01)


def test_glorot_uniform_of_a_conv_kernel_uses_the_receptive_field():
    limit = math.sqrt(6.0 / (3 * 3 * 16 + 3 * 3 * 32))
    x = np.asarray(I.glorot_uniform_initializer()(KEY, (3, 3, 16, 32)))
    assert limit * 0.99 < np.abs(x).max() <= limit


def test_glorot_normal_std_and_truncation():
    stddev = math.sqrt(2.0 / (400 + 500))
    x = np.asarray(I.glorot_normal_initializer()(KEY, MATRIX), np.float64)
    assert x.std() == pytest.approx(stddev, rel=0.01)  # rescaled so the *result* has this std
    assert np.abs(x).max() <= 2 * stddev / I._TRUNC_STD * (1 + 1e-6)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution",
                         ["truncated_normal", "normal", "untruncated_normal", "uniform"])
def test_variance_scaling_has_variance_scale_over_n(mode, distribution):
    n = {"fan_in": 400, "fan_out": 500, "fan_avg": 450}[mode]
    init = I.variance_scaling_initializer(3.0, mode, distribution)
    x = np.asarray(init(KEY, MATRIX), np.float64)
    expected_std = math.sqrt(3.0 / n)
    assert x.mean() == pytest.approx(0.0, abs=0.02 * expected_std)
    assert x.std() == pytest.approx(expected_std, rel=0.015)
    bound = {"uniform": math.sqrt(3.0), "untruncated_normal": math.inf}.get(
        distribution, 2 / I._TRUNC_STD
    )
    assert np.abs(x).max() <= bound * expected_std * (1 + 1e-6)


def test_variance_scaling_fans_are_at_least_one():
    x = np.asarray(I.variance_scaling_initializer(1.0, "fan_in", "uniform")(KEY, (0, 5)))
    assert x.shape == (0, 5)
    scalar = I.variance_scaling_initializer(1.0, "fan_in", "uniform")(KEY, ())
    assert abs(float(scalar)) <= math.sqrt(3.0)


# ----------------------------------------------------------------------------- compute_fans


@pytest.mark.parametrize(
    ("shape", "fans"),
    [((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)), ((4, 3, 5), (12, 20)),
     ((2, 3, 4, 5), (24, 30)), ((0, 5), (0, 5))],
)
def test_compute_fans(shape, fans):
    assert I.compute_fans(shape) == fans
    assert all(type(f) is int for f in I.compute_fans(shape))


@hypothesis.settings(max_examples=50, deadline=None)
@hypothesis.given(st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_compute_fans_property(shape):
    fan_in, fan_out = I.compute_fans(shape)
    receptive = math.prod(shape[:-2])
    assert (fan_in, fan_out) == (shape[-2] * receptive, shape[-1] * receptive)
    assert fan_in * shape[-1] == fan_out * shape[-2]


# ----------------------------------------------------------------------------- orthogonal


@pytest.mark.parametrize(
    ("shape", "flat"),
    # Flattened shapes (4, 3) and (3, 4) share one compiled QR; (4, 4) is the square case.
    [((4, 3), (4, 3)), ((3, 4), (3, 4)), ((4, 4), (4, 4)), ((2, 2, 3), (4, 3)),
     ((3, 1, 4), (3, 4))],
)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, flat, gain):
    q = np.asarray(I.orthogonal_initializer(gain=gain)(KEY, shape), np.float64).reshape(flat)
    small = min(flat)
    gram = q.T @ q if flat[0] >= flat[1] else q @ q.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-5 * gain**2)


def test_orthogonal_in_low_precision_is_close_to_orthonormal():
    q = np.asarray(I.orthogonal_initializer()(KEY, SMALL, jnp.bfloat16), np.float32)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=0.02)


def test_orthogonal_rejects_rank_below_two():
    for shape in [(), (5,)]:
        with pytest.raises(InitializerError, match="must be at least two-dimensional"):
            I.orthogonal_initializer()(KEY, shape)


def test_orthogonal_of_zero_size_shape():
    assert I.orthogonal_initializer()(KEY, (0, 4)).shape == (0, 4)


# ----------------------------------------------------------------------------- constant


def test_constant_scalar_broadcasts_and_full_value_is_reshaped():
    np.testing.assert_array_equal(np.asarray(I.constant_initializer(7)(None, (2, 2))),
                                  np.full((2, 2), 7.0))
    np.testing.assert_array_equal(np.asarray(I.constant_initializer([5])(None, (3,))), [5, 5, 5])
    out = I.constant_initializer([[1, 2], [3, 4]])(None, (4,), jnp.int32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(out), [1, 2, 3, 4])
    out = I.constant_initializer(np.arange(6.0))(None, (2, 3))
    np.testing.assert_array_equal(np.asarray(out), np.arange(6.0).reshape(2, 3))


def test_constant_wrong_element_count_raises():
    with pytest.raises(InitializerError, match=r"expected 4 \(or a scalar\), found 3"):
        I.constant_initializer([1, 2, 3])(None, (2, 2))
    with pytest.raises(InitializerError, match=r"expected 4 \(or a scalar\), found 5"):
        I.constant_initializer([1, 2, 3, 4, 5])(None, (2, 2))


def test_constant_verify_shape():
    init = I.constant_initializer([1, 2, 3, 4], verify_shape=True)
    with pytest.raises(InitializerError, match=r"Expected Tensor's shape: \(2, 2\), but got \(4,"):
        init(None, (2, 2))
    assert init(None, (4,)).shape == (4,)


@pytest.mark.parametrize(
    ("value", "dtype", "message"),
    [(1.0, jnp.int32, "Expected int32, but got 1.0 of type 'float'."),
     ([1, 2.5], jnp.int32, "Expected int32, but got 2.5 of type 'float'."),
     (1, jnp.bool_, "Expected bool, but got 1 of type 'int'."),
     (1 + 2j, jnp.float32, "Expected float32, but got (1+2j) of type 'complex'.")],
)
def test_constant_python_value_that_does_not_fit_the_dtype_raises_tf_type_error(
    value, dtype, message
):
    with pytest.raises(InitializerTypeError, match=f"^{re.escape(message)}$"):
        I.constant_initializer(value)(None, (2,), dtype)


def test_constant_conversions_tf_allows():
    assert I.constant_initializer(True)(None, (2,), jnp.int32).tolist() == [1, 1]
    assert I.constant_initializer(True)(None, (2,)).tolist() == [1.0, 1.0]
    assert I.constant_initializer(1.0)(None, (2,), jnp.complex64).dtype == np.complex64
    # NumPy values are cast, as TF does.
    assert I.constant_initializer(np.array([1.5, 2.0]))(None, (2,), jnp.int32).tolist() == [1, 2]


def test_constant_is_hashable_and_equal_by_value():
    a = I.constant_initializer([1, 2, 3])
    assert a == I.constant_initializer((1, 2, 3)) == I.constant_initializer(np.array([1, 2, 3]))
    assert hash(a) == hash(I.constant_initializer(np.array([1, 2, 3])))
    assert a != I.constant_initializer([1.0, 2.0, 3.0])  # Python floats behave differently
    assert a != I.constant_initializer([1, 2, 3], dtype=jnp.int32)
    assert a != I.constant_initializer([1, 2, 4])
    assert len({a, I.constant_initializer([1, 2, 3]), I.constant_initializer(0)}) == 2
    assert repr(a) == "Constant(value=[1, 2, 3], dtype=float32, verify_shape=False)"


def test_constant_rejects_non_numeric_and_ragged_values():
    with pytest.raises(InitializerTypeError, match="Invalid type for initial value='a'"):
        I.constant_initializer("a")
    with pytest.raises(InitializerError, match="ragged value"):
        I.constant_initializer([[1, 2], [3]])


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "factory",
    [I.random_normal_initializer, I.truncated_normal_initializer, I.glorot_uniform_initializer,
     I.glorot_normal_initializer, I.variance_scaling_initializer, I.orthogonal_initializer],
)
def test_random_initializers_reject_non_float_dtypes(factory):
    with pytest.raises(InitializerTypeError, match="Expected floating point type, got int32"):
        factory(dtype=jnp.int32)
    with pytest.raises(InitializerTypeError, match="Expected floating point type, got bool"):
        factory()(KEY, (3, 3), jnp.bool_)


def test_random_uniform_integer_needs_maxval():
    with pytest.raises(InitializerError, match="Must specify maxval for integer dtype int32"):
        I.random_uniform_initializer(dtype=jnp.int32)
    with pytest.raises(InitializerError, match="Must specify maxval for integer dtype int8"):
        I.random_uniform_initializer()(KEY, (3,), jnp.int8)
    with pytest.raises(InitializerTypeError, match="Expected floating point type, got bool"):
        I.random_uniform_initializer(0, 1)(KEY, (3,), jnp.bool_)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"scale": 0.0}, r"`scale` must be positive float. Received: 0.0"),
     ({"scale": -1}, r"`scale` must be positive float. Received: -1"),
     ({"mode": "fan_sum"}, r"Invalid `mode` argument: 'fan_sum'"),
     ({"distribution": "cauchy"}, r"Invalid `distribution` argument: 'cauchy'")],
)
def test_variance_scaling_validation(kwargs, match):
    with pytest.raises(InitializerError, match=match):
        I.variance_scaling_initializer(**kwargs)


def test_variance_scaling_distribution_is_case_insensitive():
    assert I.variance_scaling_initializer(distribution="Uniform").distribution == "uniform"


def test_dataclass_values_frozen_hashable_readable():
    init = I.random_normal_initializer(stddev=0.02, seed=3)
    assert isinstance(init, I.TFInitializer)
    assert init == I.random_normal_initializer(0.0, 0.02, 3, np.float32)
    assert hash(init) == hash(I.random_normal_initializer(stddev=0.02, seed=3))
    assert init != I.truncated_normal_initializer(stddev=0.02, seed=3)
    assert repr(init) == "RandomNormal(mean=0.0, stddev=0.02, seed=3, dtype=float32)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        init.stddev = 1.0  # type: ignore[misc]
    assert I.glorot_uniform_initializer() == I.variance_scaling_initializer(
        1.0, "fan_avg", "uniform"
    )
    assert I.glorot_normal_initializer(seed=1) == I.variance_scaling_initializer(
        1.0, "fan_avg", "truncated_normal", seed=1
    )
    assert repr(I.zeros_initializer(jnp.bfloat16)) == "Zeros(dtype=bfloat16)"


# ----------------------------------------------------------------------------- against real TF


def _tf_sample(tf, init, shape, dtype="float32"):
    return np.asarray(init(shape, dtype=getattr(tf, dtype)).numpy(), np.float64)


@requires_tf
@pytest.mark.parametrize(
    ("ours", "theirs", "bounded"),
    [
        (I.glorot_uniform_initializer, lambda v1: v1.glorot_uniform_initializer(), True),
        (I.glorot_normal_initializer, lambda v1: v1.glorot_normal_initializer(), True),
        (lambda: I.truncated_normal_initializer(0.1, 0.5),
         lambda v1: v1.truncated_normal_initializer(0.1, 0.5), True),
        (lambda: I.random_normal_initializer(0.1, 0.5),
         lambda v1: v1.random_normal_initializer(0.1, 0.5), False),
        (lambda: I.random_uniform_initializer(-0.5, 2.0),
         lambda v1: v1.random_uniform_initializer(-0.5, 2.0), True),
        (I.random_uniform_initializer, lambda v1: v1.random_uniform_initializer(), True),
        (lambda: I.variance_scaling_initializer(2.0, "fan_in", "untruncated_normal"),
         lambda v1: v1.variance_scaling_initializer(2.0, "fan_in", "untruncated_normal"), False),
        (lambda: I.variance_scaling_initializer(0.5, "fan_out", "truncated_normal"),
         lambda v1: v1.variance_scaling_initializer(0.5, "fan_out", "truncated_normal"), True),
        (lambda: I.variance_scaling_initializer(1.5, "fan_avg", "uniform"),
         lambda v1: v1.variance_scaling_initializer(1.5, "fan_avg", "uniform"), True),
    ],
    ids=["glorot_uniform", "glorot_normal", "truncated_normal", "random_normal", "random_uniform",
         "random_uniform_default", "vs_untruncated", "vs_truncated", "vs_uniform"],
)
def test_distribution_matches_tf1(tf, ours, theirs, bounded):
    x = np.asarray(ours()(KEY, MATRIX), np.float64)
    y = _tf_sample(tf, theirs(tf.compat.v1), list(MATRIX))
    assert x.mean() == pytest.approx(y.mean(), abs=0.02 * y.std())
    assert x.std() == pytest.approx(y.std(), rel=0.01)
    if bounded:  # same support: the extremes agree to within 5% of a standard deviation
        assert x.min() == pytest.approx(y.min(), abs=0.05 * y.std())
        assert x.max() == pytest.approx(y.max(), abs=0.05 * y.std())


@requires_tf
def test_truncated_normal_std_ratio_matches_tf1(tf):
    y = _tf_sample(tf, tf.compat.v1.truncated_normal_initializer(stddev=2.0), list(MATRIX))
    x = np.asarray(I.truncated_normal_initializer(stddev=2.0)(KEY, MATRIX), np.float64)
    assert y.std() / 2.0 == pytest.approx(x.std() / 2.0, abs=0.01)
    assert np.abs(y).max() <= 4.0 and np.abs(x).max() <= 4.0


@requires_tf
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 2, 3)])
def test_orthogonal_property_matches_tf1(tf, shape):
    flat = (math.prod(shape[:-1]), shape[-1])
    for q in (np.asarray(I.orthogonal_initializer(gain=2.0)(KEY, shape), np.float64),
              _tf_sample(tf, tf.compat.v1.orthogonal_initializer(gain=2.0), list(shape))):
        q = q.reshape(flat)
        gram = q.T @ q if flat[0] >= flat[1] else q @ q.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(min(flat)), atol=1e-4)
    with pytest.raises(ValueError, match="must be at least two-dimensional"):
        tf.compat.v1.orthogonal_initializer()([5])


@requires_tf
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (4, 3, 5), (2, 3, 4, 5)])
def test_compute_fans_matches_tf1(shape):
    from tensorflow.python.ops import init_ops

    assert I.compute_fans(shape) == init_ops._compute_fans(shape)


@requires_tf
@pytest.mark.parametrize(
    "value",
    [True, 3, 2**31, 2.5, 1j, [1, 2], (1, 2.0), [[1], [2.0]], [True, False], [], [1j, 1],
     [1.0, True], [1, True], [1j, 2.0, 1], [2**40, 1.0], np.float64(1.0), np.int8(3),
     np.array([1, 2], np.uint16), [np.float16(1.0), 2.0]],
    ids=repr,
)
def test_constant_dtype_matches_tf1(tf, value):
    tf_dtype = tf.convert_to_tensor(value).dtype.as_numpy_dtype
    assert C.constant_dtype(value) == jax.dtypes.canonicalize_dtype(tf_dtype)


@requires_tf
@pytest.mark.parametrize(
    ("value", "dtype"), [(1.0, "int32"), ([1, 2.5], "int32"), (1, "bool"), (1 + 2j, "float32")]
)
def test_constant_type_error_text_matches_tf1_graph_mode(tf, value, dtype):
    with tf.Graph().as_default(), pytest.raises(TypeError) as theirs:
        tf.compat.v1.constant_initializer(value)([2], getattr(tf, dtype))
    with pytest.raises(InitializerTypeError) as ours:
        I.constant_initializer(value)(None, (2,), np.dtype(dtype))
    assert str(ours.value) == str(theirs.value)


@requires_tf
def test_tf1_error_texts_we_keep(tf):
    v1 = tf.compat.v1
    with pytest.raises(ValueError, match="Must specify maxval for integer dtype"):
        v1.random_uniform_initializer(0, dtype=tf.int32)([5])
    with pytest.raises(ValueError, match="`scale` must be a positive float"):
        v1.variance_scaling_initializer(scale=-1)
    with pytest.raises(ValueError, match="An initializer for variable c of <dtype: 'complex64'> "
                                         "is required"), tf.Graph().as_default():
        v1.get_variable("c", [2], dtype=tf.complex64)


@requires_tf
def test_call_initializer_with_real_tf1_initializer_objects(tf):
    v1 = tf.compat.v1
    zeros = C.call_initializer(v1.zeros_initializer(), None, (2, 3), np.int32)
    assert zeros.dtype == np.int32 and zeros.tolist() == [[0] * 3] * 2
    glorot = np.asarray(C.call_initializer(v1.glorot_uniform_initializer(), None, (40, 60),
                                           np.float32))
    limit = math.sqrt(6.0 / 100)
    assert glorot.shape == (40, 60) and np.abs(glorot).max() <= limit
    ones = C.call_initializer(v1.ones_initializer, None, (2,), np.float32)  # class, like TF1
    assert ones.tolist() == [1.0, 1.0]
