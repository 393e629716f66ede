"""Tests for scopejax._src.regularizers: values, dtypes, TF1's validation, transforms, identity.

The differential tests at the end compare with real TensorFlow (``tf.nn.l2_loss`` and
``tf.reduce_sum(tf.abs(w))``, the ops ``tf.contrib.layers`` regularizers were built on); they are
skipped, with a reason, when TensorFlow is not installed.
"""

from __future__ import annotations

import dataclasses

import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scopejax as sj
from scopejax._src import regularizers as R
from scopejax._src.errors import RegularizerError, ScopeJaxError, ScopeTypeError

FLOATS = [jnp.float32, jnp.bfloat16, jnp.float16]
W = np.array([[1.0, -2.0], [3.0, -0.5]], np.float32)  # sum |w| = 6.5, sum w**2 / 2 = 7.125
L1_W, L2_W = 6.5, 7.125


def np64(x) -> np.ndarray:
    return np.asarray(x, np.float64)


# ------------------------------------------------------------------------------------- values


def test_l1_value():
    out = sj.l1_regularizer(0.5)(W)
    chex.assert_shape(out, ())
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, 0.5 * L1_W, rtol=1e-6)


def test_l2_value():
    out = sj.l2_regularizer(0.5)(W)
    chex.assert_shape(out, ())
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, 0.5 * L2_W, rtol=1e-6)


def test_l1_l2_value_is_the_sum():
    out = sj.l1_l2_regularizer(0.25, 0.75)(W)
    np.testing.assert_allclose(out, 0.25 * L1_W + 0.75 * L2_W, rtol=1e-6)
    np.testing.assert_allclose(sj.l1_l2_regularizer()(W), L1_W + L2_W, rtol=1e-6)  # 1.0, 1.0


@pytest.mark.parametrize("reg", [sj.l1_regularizer(0.3), sj.l2_regularizer(0.3)], ids=repr)
def test_empty_weights(reg):
    out = reg(np.zeros((0, 3), np.float32))
    chex.assert_shape(out, ())
    assert float(out) == 0.0


def test_scalar_weights_values():
    np.testing.assert_allclose(sj.l1_regularizer(0.3)(jnp.float32(-2.0)), 0.6, rtol=1e-6)
    np.testing.assert_allclose(sj.l2_regularizer(0.3)(jnp.float32(-2.0)), 0.6, rtol=1e-6)


def test_accepts_lists_and_numpy_arrays():
    np.testing.assert_allclose(sj.l2_regularizer(1.0)([1.0, 2.0]), 2.5)
    np.testing.assert_allclose(sj.l1_regularizer(1.0)(np.array([1.0, -2.0])), 3.0)


def test_numpy_float_scales_are_reals():
    assert sj.l2_regularizer(np.float64(0.5)) == sj.l2_regularizer(0.5)
    assert sj.l1_regularizer(np.float32(0.5)).scale == 0.5
    assert isinstance(sj.l1_regularizer(np.float32(0.5)).scale, float)


# ------------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: sj.l1_regularizer(0.5), 0.5 * L1_W),
        (lambda: sj.l2_regularizer(0.5), 0.5 * L2_W),
        (lambda: sj.l1_l2_regularizer(0.5, 0.5), 0.5 * (L1_W + L2_W)),
    ],
    ids=["l1", "l2", "l1_l2"],
)
def test_result_has_the_weights_dtype(dtype, make, expected):
    out = make()(jnp.asarray(W, dtype))
    chex.assert_shape(out, ())
    assert out.dtype == jnp.dtype(dtype)
    np.testing.assert_allclose(np64(out), expected, rtol=1e-2)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: jnp.dtype(d).name)
def test_scale_is_converted_to_the_weights_dtype(dtype):
    """TF1 converts the scale to the weights' dtype, so 0.1 is rounded to (say) float16 first."""
    w = jnp.asarray([1.0, -1.0], dtype)  # sum |w| = 1 * 2, sum w**2 / 2 = 1
    scale = jnp.asarray(0.1, dtype)
    assert sj.l1_regularizer(0.1)(w) == scale * jnp.asarray(2.0, dtype)
    assert sj.l2_regularizer(0.1)(w) == scale
    assert sj.l2_regularizer(0.1)(w).dtype == jnp.dtype(dtype)


def test_float64_under_x64():
    with jax.enable_x64(True):
        w = np.array([0.1, 0.2], np.float64)
        out = sj.l2_regularizer(0.1)(w)
        assert out.dtype == jnp.float64
        assert float(out) == 0.1 * np.sum(w * w * 0.5)


def test_l2_is_computed_like_tf_l2_loss():
    """sum(w**2 * 0.5), not sum(w**2) / 2: the latter overflows float16 where TF does not."""
    w = jnp.full((2,), 200.0, jnp.float16)  # w**2 = 40000 each: the sum 80000 overflows float16
    assert sj.l2_regularizer(1.0)(w) == 40000.0


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, jnp.bool_, jnp.complex64])
@pytest.mark.parametrize("make", [sj.l1_regularizer, sj.l2_regularizer, sj.l1_l2_regularizer])
def test_non_floating_weights_raise(dtype, make):
    name = jnp.dtype(dtype).name
    with pytest.raises(ScopeTypeError, match=rf"floating-point weights, got dtype {name}.*cast"):
        make(0.1)(jnp.zeros((2,), dtype))


def test_non_array_weights_raise():
    with pytest.raises(TypeError, match=r"l1_regularizer expects an array of weights, got 'w'"):
        sj.l1_regularizer(0.1)("w")


# --------------------------------------------------------------------------------- zero scale


@pytest.mark.parametrize("scale", [0.0, -0.0, np.float32(0.0)])
@pytest.mark.parametrize("make", [sj.l1_regularizer, sj.l2_regularizer])
def test_zero_scale_disables(make, scale):
    reg = make(scale)
    assert reg is sj.no_regularizer
    assert reg(W) is None


def test_no_regularizer():
    assert sj.no_regularizer(W) is None
    assert sj.no_regularizer(None) is None  # like TF1's, it ignores its argument
    assert repr(sj.no_regularizer) == "no_regularizer"
    assert sj.no_regularizer == R.NoRegularizer()
    assert hash(sj.no_regularizer) == hash(R.NoRegularizer())


def test_l1_l2_with_zero_scales_is_the_other_regularizer():
    assert sj.l1_l2_regularizer(0.0, 0.0) is sj.no_regularizer
    assert sj.l1_l2_regularizer(0.0, 0.0)(W) is None
    assert sj.l1_l2_regularizer(0.0, 0.5) == sj.l2_regularizer(0.5)
    assert sj.l1_l2_regularizer(0.5, 0.0) == sj.l1_regularizer(0.5)
    assert sj.l1_l2_regularizer(0.5, 0.25) == sj.sum_regularizer(
        [sj.l1_regularizer(0.5), sj.l2_regularizer(0.25)]
    )


# ----------------------------------------------------------------------------- sum_regularizer


def test_sum_regularizer_empty_or_all_none_is_none():
    assert sj.sum_regularizer([]) is None
    assert sj.sum_regularizer(()) is None
    assert sj.sum_regularizer([None, None]) is None
    assert sj.sum_regularizer(iter([None])) is None


def test_sum_regularizer_drops_none_entries():
    reg = sj.sum_regularizer([None, sj.l1_regularizer(0.5), None])
    assert reg == sj.sum_regularizer([sj.l1_regularizer(0.5)])
    assert reg.regularizers == (sj.l1_regularizer(0.5),)
    np.testing.assert_allclose(reg(W), 0.5 * L1_W, rtol=1e-6)


def test_sum_regularizer_all_results_none_is_none():
    reg = sj.sum_regularizer([sj.no_regularizer, lambda w: None, sj.l2_regularizer(0.0)])
    assert reg is not None
    assert reg(W) is None


def test_sum_regularizer_mixture():
    regs = [sj.l1_regularizer(0.5), sj.no_regularizer, None, lambda w: jnp.sum(w)]
    reg = sj.sum_regularizer(r for r in regs)  # any iterable
    np.testing.assert_allclose(reg(W), 0.5 * L1_W + W.sum(), rtol=1e-6)


def test_sum_regularizer_nests():
    inner = sj.sum_regularizer([sj.l1_regularizer(0.5), sj.l2_regularizer(0.5)])
    outer = sj.sum_regularizer([inner, sj.l2_regularizer(1.0)])
    np.testing.assert_allclose(outer(W), 0.5 * L1_W + 1.5 * L2_W, rtol=1e-6)


def test_sum_regularizer_errors():
    with pytest.raises(ScopeTypeError, match=r"item 1 is 0\.1 of type float\. Pass l2_reg"):
        sj.sum_regularizer([sj.l1_regularizer(0.1), 0.1])
    with pytest.raises(ScopeTypeError, match=r"item 0 is 'l2' of type str\. Pass functions"):
        sj.sum_regularizer(["l2"])
    with pytest.raises(ScopeTypeError, match=r"wrap a single one in a list: sum_regularizer\("):
        sj.sum_regularizer(sj.l1_regularizer(0.1))
    with pytest.raises(ScopeTypeError, match=r"wrap a single one in a list"):
        sj.sum_regularizer("l1")
    with pytest.raises(ScopeTypeError, match=r"got 3 of type int; pass e\.g\. \[l1_regularizer"):
        sj.sum_regularizer(3)


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("make", [sj.l1_regularizer, sj.l2_regularizer])
@pytest.mark.parametrize(
    "scale, shown, fix",
    [(1, "1", "1.0"), (0, "0", "0.0"), (True, "True", "1.0"), (np.int64(-3), "-3", "-3.0")],
)
def test_integer_scale_raises(make, scale, shown, fix):
    with pytest.raises(
        RegularizerError, match=rf"^scale cannot be an integer: {shown}\. .*pass {fix}"
    ):
        make(scale)


def test_huge_integer_scale_message():
    with pytest.raises(ValueError, match=r"scale cannot be an integer: 1000.*pass 1\.0 instead"):
        sj.l2_regularizer(10**400)


@pytest.mark.parametrize("make", [sj.l1_regularizer, sj.l2_regularizer])
@pytest.mark.parametrize("scale, shown", [(-1.0, "-1.0"), (-1e-9, "-1e-09"), (-np.inf, "-inf")])
def test_negative_scale_raises(make, scale, shown):
    with pytest.raises(
        RegularizerError,
        match=rf"^Setting a scale less than 0 on a regularizer: {shown}\. .*pass 0\.0 to disable",
    ):
        make(scale)


@pytest.mark.parametrize(
    "scale", ["0.1", None, np.array(0.1), jnp.asarray(0.1), [0.1], 1 + 0j], ids=repr
)
@pytest.mark.parametrize("make", [sj.l1_regularizer, sj.l2_regularizer])
def test_non_number_scale_raises_type_error(make, scale):
    name = make.__name__
    with pytest.raises(ScopeTypeError, match=rf"^{name} needs a float scale such as 0\.01, got"):
        make(scale)
    with pytest.raises(TypeError, match=r"Use float\(x\) for a NumPy or JAX scalar"):
        make(scale)


def test_traced_scale_raises_with_a_fix():
    with pytest.raises(TypeError, match=r"multiply the loss instead: scale \* l2_regularizer\(1"):
        jax.jit(lambda s: sj.l2_regularizer(s)(W))(0.1)


def test_errors_are_builtin_and_scopejax_errors():
    with pytest.raises(ValueError) as info:
        sj.l1_regularizer(1)
    assert isinstance(info.value, ScopeJaxError)
    with pytest.raises(TypeError) as info:
        sj.l1_regularizer("1")
    assert isinstance(info.value, ScopeJaxError)


def test_l1_l2_errors_name_the_argument():
    with pytest.raises(RegularizerError, match=r"^scale_l1 cannot be an integer: 1\."):
        sj.l1_l2_regularizer(1, 0.5)
    with pytest.raises(RegularizerError, match=r"^scale_l2 cannot be an integer: 0\."):
        sj.l1_l2_regularizer(0.0, 0)
    with pytest.raises(RegularizerError, match=r"on a regularizer: -1\.0\. .* scale_l2 >= 0\.0"):
        sj.l1_l2_regularizer(0.0, -1.0)
    with pytest.raises(RegularizerError, match=r"on a regularizer: -2\.0\. .* scale_l1 >= 0\.0"):
        sj.l1_l2_regularizer(-2.0, 0.0)
    with pytest.raises(ScopeTypeError, match=r"l1_l2_regularizer needs a float scale_l2"):
        sj.l1_l2_regularizer(0.5, "0.5")


def test_l1_l2_checks_integers_before_signs():
    """Like TF1: both scales are checked for ints before either is checked for its sign."""
    with pytest.raises(RegularizerError, match=r"^scale_l2 cannot be an integer"):
        sj.l1_l2_regularizer(-1.0, 1)


def test_nan_and_inf_scales_are_accepted_like_tf():
    assert np.isnan(sj.l2_regularizer(float("nan"))(W))
    assert sj.l1_regularizer(float("inf"))(W) == np.inf


# -------------------------------------------------------------------------------- transforms


REGS = {
    "l1": sj.l1_regularizer(0.5),
    "l2": sj.l2_regularizer(0.5),
    "l1_l2": sj.l1_l2_regularizer(0.5, 0.25),
}


@pytest.mark.parametrize("name", REGS)
def test_jit(name):
    reg = REGS[name]
    chex.assert_trees_all_close(jax.jit(reg)(W), reg(W), rtol=1e-6)
    chex.assert_trees_all_close(jax.jit(lambda w: reg(w))(W), reg(W), rtol=1e-6)


def test_jit_of_disabled_regularizers_returns_none():
    assert jax.jit(sj.no_regularizer)(W) is None
    assert jax.jit(sj.sum_regularizer([sj.no_regularizer]))(W) is None


def test_grad():
    w = jnp.array([[1.0, -2.0], [0.0, 4.0]])
    chex.assert_trees_all_close(jax.grad(sj.l2_regularizer(0.1))(w), 0.1 * w, rtol=1e-6)
    chex.assert_trees_all_close(jax.grad(sj.l1_regularizer(0.1))(w), 0.1 * jnp.sign(w))
    # TF1's d|x|/dx at 0 is sign(0) = 0 (jax.grad(jnp.abs)(0.0) is 1): zero weights stay zero.
    assert jax.grad(sj.l1_regularizer(0.1))(jnp.float32(0.0)) == 0.0
    assert jax.grad(sj.l1_regularizer(0.1))(jnp.float32(-0.0)) == 0.0
    chex.assert_trees_all_close(
        jax.grad(sj.l1_l2_regularizer(0.1, 0.2))(w), 0.1 * jnp.sign(w) + 0.2 * w, rtol=1e-6
    )
    chex.assert_trees_all_close(jax.jit(jax.grad(sj.l2_regularizer(0.3)))(w), 0.3 * w, rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: jnp.dtype(d).name)
def test_grad_keeps_the_dtype(dtype):
    g = jax.grad(sj.l2_regularizer(0.5))(jnp.asarray(W, dtype))
    assert g.dtype == jnp.dtype(dtype)
    np.testing.assert_allclose(np64(g), 0.5 * W, rtol=1e-2)


@pytest.mark.parametrize("name", REGS)
def test_vmap_is_per_example(name):
    reg = REGS[name]
    batch = jnp.stack([jnp.asarray(W), 2 * jnp.asarray(W), jnp.zeros_like(W)])
    out = jax.vmap(reg)(batch)
    chex.assert_shape(out, (3,))
    chex.assert_trees_all_close(out, jnp.stack([reg(b) for b in batch]), rtol=1e-6)


def test_regularizer_as_static_jit_argument_does_not_retrace():
    traces = []

    def loss_fn(w, reg):
        traces.append(reg)
        return reg(w)

    loss = jax.jit(loss_fn, static_argnums=1)
    loss(W, sj.l2_regularizer(0.1))
    loss(W, sj.l2_regularizer(0.1))  # another, equal object: the cache hits
    loss(W, sj.l1_l2_regularizer(0.1, 0.1))
    loss(W, sj.l1_l2_regularizer(0.1, 0.1))
    assert traces == [sj.l2_regularizer(0.1), sj.l1_l2_regularizer(0.1, 0.1)]


# ---------------------------------------------------------------------------------- identity


def test_equality_and_hash():
    assert sj.l2_regularizer(0.1) == sj.l2_regularizer(0.1)
    assert sj.l2_regularizer(0.1) is not sj.l2_regularizer(0.1)
    assert hash(sj.l2_regularizer(0.1)) == hash(sj.l2_regularizer(0.1))
    assert sj.l2_regularizer(0.1) != sj.l2_regularizer(0.2)
    assert sj.l2_regularizer(0.1) != sj.l1_regularizer(0.1)
    assert sj.l1_l2_regularizer(0.1, 0.2) == sj.l1_l2_regularizer(0.1, 0.2)
    assert hash(sj.l1_l2_regularizer(0.1, 0.2)) == hash(sj.l1_l2_regularizer(0.1, 0.2))
    assert sj.l1_l2_regularizer(0.1, 0.2) != sj.l1_l2_regularizer(0.2, 0.1)
    assert len({sj.l1_regularizer(0.1), sj.l1_regularizer(0.1), sj.no_regularizer}) == 2


def test_scope_is_ignored():
    assert sj.l1_regularizer(0.1, scope="reg") == sj.l1_regularizer(0.1)
    assert sj.l2_regularizer(0.1, "reg") == sj.l2_regularizer(0.1)
    assert sj.l1_l2_regularizer(0.1, 0.2, scope="reg") == sj.l1_l2_regularizer(0.1, 0.2)
    assert sj.sum_regularizer([sj.no_regularizer], scope="s") == sj.sum_regularizer(
        [sj.no_regularizer]
    )


def test_repr():
    assert repr(sj.l1_regularizer(0.1)) == "l1_regularizer(scale=0.1)"
    assert repr(sj.l2_regularizer(np.float64(2.5))) == "l2_regularizer(scale=2.5)"
    assert repr(sj.l1_l2_regularizer(0.1, 0.2)) == (
        "sum_regularizer([l1_regularizer(scale=0.1), l2_regularizer(scale=0.2)])"
    )
    assert (
        repr(sj.sum_regularizer([None, sj.no_regularizer])) == "sum_regularizer([no_regularizer])"
    )


def test_classes_validate_when_built_directly():
    assert R.L2Regularizer(np.float32(0.5)) == sj.l2_regularizer(0.5)
    assert R.L1Regularizer(0.0)(W) == 0.0  # only the factories turn 0.0 into no_regularizer
    with pytest.raises(RegularizerError, match=r"^scale cannot be an integer: 2\."):
        R.L1Regularizer(2)
    with pytest.raises(RegularizerError, match=r"less than 0 on a regularizer: -0\.5\."):
        R.L2Regularizer(-0.5)


def test_frozen():
    reg = sj.l2_regularizer(0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reg.scale = 0.2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sj.no_regularizer.x = 1  # type: ignore[attr-defined]


def test_public_names():
    for name in ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer"):
        assert name in sj.__all__
        assert getattr(sj, name) is getattr(R, name)
    assert sj.no_regularizer is R.no_regularizer
    assert sj.RegularizerError is RegularizerError
    assert issubclass(RegularizerError, ValueError)


def test_get_variable_keeps_the_regularizer():
    """Scope default and per-variable override (``no_regularizer``), as in TF1."""

    def model():
        with sj.variable_scope("layer", regularizer=sj.l2_regularizer(0.1)):
            sj.get_variable("w", [2], initializer=sj.ones_initializer())
            sj.get_variable(
                "b", [2], initializer=sj.ones_initializer(), regularizer=sj.no_regularizer
            )

    store = sj.transform(model).init(jax.random.key(0))
    reg = store.info("layer/w").regularizer
    assert reg == sj.l2_regularizer(0.1)
    np.testing.assert_allclose(reg(store["layer/w"]), 0.1, rtol=1e-6)
    assert store.info("layer/b").regularizer(store["layer/b"]) is None


# ------------------------------------------------------------------ differential (TensorFlow)


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip(
        "tensorflow",
        reason="tensorflow not installed (pip install 'scopejax[tf]'); differential tests",
    )


def tf_oracle(tf, kind: str, t, scale_l1: float, scale_l2: float):
    """What tf.contrib.layers' regularizer computed: scale (in t's dtype) times the TF op."""
    l1 = tf.constant(scale_l1, dtype=t.dtype) * tf.reduce_sum(tf.abs(t))
    l2 = tf.constant(scale_l2, dtype=t.dtype) * tf.nn.l2_loss(t)
    return {"l1": l1, "l2": l2, "l1_l2": tf.add_n([l1, l2])}[kind]


def ours(kind: str, scale_l1: float, scale_l2: float):
    return {
        "l1": sj.l1_regularizer(scale_l1),
        "l2": sj.l2_regularizer(scale_l2),
        "l1_l2": sj.l1_l2_regularizer(scale_l1, scale_l2),
    }[kind]


# dtype name -> (JAX dtype, rtol): TF and XLA may sum in another order (and width).
TF_DTYPES = {
    "float32": (jnp.float32, 1e-5),
    "bfloat16": (jnp.bfloat16, 3e-2),
    "float16": (jnp.float16, 4e-3),
}


def tf_dtype(tf, name: str):
    return {"float32": tf.float32, "bfloat16": tf.bfloat16, "float16": tf.float16}[name]


def assert_matches_tf(tf, kind, w32, scale_l1, scale_l2, dtype_name):
    jdt, rtol = TF_DTYPES[dtype_name]
    w = jnp.asarray(w32, jdt)  # the same rounded values go to both
    t = tf.constant(np.asarray(w), dtype=tf_dtype(tf, dtype_name))
    expected = tf_oracle(tf, kind, t, scale_l1, scale_l2)
    got = ours(kind, scale_l1, scale_l2)(w)
    assert got.dtype == jnp.dtype(jdt)
    assert got.dtype.name == expected.dtype.name
    atol = float(jnp.finfo(jdt).tiny) * 4  # flushed subnormals
    np.testing.assert_allclose(np64(got), np64(expected.numpy()), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype_name", TF_DTYPES)
@pytest.mark.parametrize("kind", ["l1", "l2", "l1_l2"])
def test_matches_tf_on_known_arrays(tf, kind, dtype_name):
    for w in (
        W,
        np.zeros((3,), np.float32),
        np.float32(-1.5),
        np.linspace(-3, 3, 24).reshape(2, 3, 4),
    ):
        assert_matches_tf(tf, kind, np.asarray(w, np.float32), 0.1, 0.3, dtype_name)


@pytest.mark.parametrize("kind", ["l1", "l2", "l1_l2"])
def test_gradient_matches_tf(tf, kind):
    w = np.array([[1.0, -2.0], [0.0, 4.0]], np.float32)  # TF's d|x|/dx is 0 at 0
    t = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = tf_oracle(tf, kind, t, 0.1, 0.1)
    expected = tape.gradient(loss, t).numpy()
    np.testing.assert_allclose(jax.grad(ours(kind, 0.1, 0.1))(w), expected, rtol=1e-6)


def test_float16_overflow_matches_tf(tf):
    w = np.full((1,), 300.0, np.float16)  # 300**2 = 90000 > float16 max, as in TF's L2Loss
    expected = tf.nn.l2_loss(tf.constant(w)).numpy()
    assert np.isinf(expected)
    assert np.isinf(sj.l2_regularizer(1.0)(jnp.asarray(w)))


def _arrays(max_abs: float):
    return hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.floats(-max_abs, max_abs, width=32, allow_subnormal=False),
    )


@st.composite
def _tf_cases(draw):
    dtype_name = draw(st.sampled_from(sorted(TF_DTYPES)))
    kind = draw(st.sampled_from(["l1", "l2", "l1_l2"]))
    w = draw(_arrays(100.0 if dtype_name == "float32" else 4.0))  # no half-precision overflow
    scales = st.floats(1e-3, 10.0)
    return kind, w, draw(scales), draw(scales), dtype_name


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(case=_tf_cases())
def test_matches_tf_on_generated_arrays(tf, case):
    kind, w, scale_l1, scale_l2, dtype_name = case
    assert_matches_tf(tf, kind, w, scale_l1, scale_l2, dtype_name)
