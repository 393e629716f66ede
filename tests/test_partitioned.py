"""Partitioned variables through get_variable: one logical store entry with TF1's shard layout.

Sections: (1) TF's ``VariableScopeWithPartitioningTest`` and the rule-25 reuse errors, ported
(no TensorFlow needed); (2) differential tests against real ``tf.compat.v1`` in graph mode: shard
names and ``SaveSliceInfo``, values of deterministic initializers, per-shard regularisation losses
and the outcome of fixed reuse programs; (3) a hypothesis search over shapes and partitioners;
(4) jitted ``apply`` and gradients of the per-shard losses. The TF sections are skipped (with a
reason) when TensorFlow is not installed.

Section (5) pins the cases where an earlier version diverged from TF (shape=None with a
partitioner, shard names under a partitioner, plain shards before a partitioned variable,
``shape=[]`` with a scope partitioner, constant initializers of the wrong shape or of Python
values).
"""

from __future__ import annotations

import math
import re
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scopejax as sj
from scopejax._src.partitioners import (
    PartitionerError,
    PartitionInfo,
    fixed_size_partitioner,
    min_max_variable_partitioner,
    variable_axis_size_partitioner,
)

TF_REASON = "differential tests against tf.compat.v1 need TensorFlow (pip install 'scopejax[tf]')"


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported once for this module (skips only the differential tests)."""
    return pytest.importorskip("tensorflow", reason=TF_REASON)


def iota(shape, dtype=None, partition_info=None):
    """A TF1-style callable initializer: 0, 1, 2... in every shard it is called for."""
    return np.arange(math.prod(shape)).reshape(shape)


def into(n):
    """TF's axis0_into<n>_partitioner."""
    return lambda shape=None, **_: [n] + [1] * (len(shape) - 1)


def init(fn, *args):
    return sj.transform(fn).init(jax.random.key(0), *args)


# ------------------------------------------------ 1. VariableScopeWithPartitioningTest, rule 25


def test_result_name_matches_requested():
    def f():
        with sj.variable_scope("scope0", partitioner=into(2)):
            return sj.get_variable("name0", shape=(3, 1, 1))

    v, params = sj.transform(f).init_with_output(jax.random.key(0))
    assert params.names() == ("scope0/name0",) and v.shape == (3, 1, 1)
    assert params.collection(sj.GLOBAL_VARIABLES) == ("scope0/name0",)
    part = params.info("scope0/name0").partition
    assert part == PartitionInfo((3, 1, 1), 0, (0, 2), (2, 1))
    assert part.part_names("scope0/name0") == ["scope0/name0/part_0", "scope0/name0/part_1"]


def test_reuse_returns_existing_value_and_breaks_if_partitioning_changes():
    """testReturnsExistingConcatenatedValueIfReuse, testAllowsReuseWithoutPartitioner,
    testBreaksIfPartitioningChanges, plus AUTO_REUSE and reuse=False."""

    def f():
        with sj.variable_scope("scope0", partitioner=into(2)):
            v = sj.get_variable("name0", shape=(3, 1, 1))
            sj.get_variable_scope().reuse_variables()
            assert sj.get_variable("name0", shape=(3, 1, 1)) is v
        with sj.variable_scope("scope0", reuse=True):
            assert sj.get_variable("name0") is v
        with sj.variable_scope("scope0", reuse=sj.AUTO_REUSE, partitioner=into(2)):
            assert sj.get_variable("name0", shape=(3, 1, 1)) is v
        exists = "Partitioned variable with name scope0/name0 already exists. Did you mean"
        with sj.variable_scope("scope0", partitioner=into(2)):
            with pytest.raises(ValueError, match=re.escape(exists)):
                sj.get_variable("name0", shape=(3, 1, 1))
        for n in (3, 1):
            changed = (f"Trying to reuse partitioned variable scope0/name0, but specified "
                       f"partitions [{n}, 1, 1] and found partitions [2, 1, 1].")  # fmt: skip
            with sj.variable_scope("scope0", partitioner=into(n), reuse=True):
                with pytest.raises(ValueError, match=re.escape(changed)):
                    sj.get_variable("name0", shape=(3, 1, 1))

    init(f)


@pytest.mark.parametrize(("part", "shard_shape"), [((2, 1, 1), (1, 2, 2)), ((1, 2, 1), (2, 1, 2))])
def test_partition_concatenates_along_correct_axis(part, shard_shape):
    params = init(lambda: sj.get_variable("root/n", shape=(2, 2, 2), partitioner=lambda **_: part))
    info = params.info("root/n").partition
    assert params["root/n"].shape == (2, 2, 2) and info.partitions == part
    assert [info.part_shape(i) for i in range(2)] == [shard_shape] * 2


def test_scope_partitioner_is_inherited_and_get_level_partitioner_overrides():
    def f():
        with sj.variable_scope("a", partitioner=into(2)):
            with sj.variable_scope("b"):
                sj.get_variable("w", [4, 2])
                sj.get_variable("x", [4, 2], partitioner=into(4))
                sj.get_variable("s", [])  # scalars ignore the partitioner
        with sj.variable_scope("a/b", reuse=True):
            assert sj.get_variable("w").shape == (4, 2)

    params = init(f)
    assert params.info("a/b/w").partition.partitions == (2, 1)
    assert params.info("a/b/x").partition.partitions == (4, 1)
    assert params.info("a/b/s").partition is None


def test_reuse_errors_of_rule_25():
    def f():
        with sj.variable_scope("r", reuse=True, partitioner=into(2)):
            with pytest.raises(ValueError, match=r"PartitionedVariable r/z does not exist, or was "
                               "not created with"):  # fmt: skip
                sj.get_variable("z", [4, 2])
        with sj.variable_scope("m"):
            sj.get_variable("x", [4, 2])
            sj.get_variable("y", [4, 2], partitioner=into(2))
        for reuse in (False, True, sj.AUTO_REUSE):
            with sj.variable_scope("m", reuse=reuse), pytest.raises(
                    ValueError, match=r"A partitioner was provided, but an unpartitioned version "
                    "of the variable was found: m/x."):  # fmt: skip
                sj.get_variable("x", [4, 2], partitioner=into(2))
        for reuse in (False, sj.AUTO_REUSE):
            with sj.variable_scope("m", reuse=reuse), pytest.raises(
                    ValueError, match=r"No partitioner was provided, but a partitioned version of "
                    "the variable was found: m/y/part_0."):  # fmt: skip
                sj.get_variable("y", [4, 2])
        sj.get_variable("q/part_0", [2, 2])
        with pytest.raises(ValueError, match=r"Partitioner returned a different partitioning than "
                           "what was already found"):  # fmt: skip
            sj.get_variable("q", [4, 2], partitioner=into(2))

    init(f)


def test_shards_are_reachable_by_name_as_in_tf():
    def f():
        with sj.variable_scope("m"):
            v = sj.get_variable("v", [10, 2], initializer=iota, partitioner=into(3))
        with sj.variable_scope("m", reuse=True):
            np.testing.assert_array_equal(sj.get_variable("v/part_1"), v[4:7])
            with pytest.raises(ValueError, match=re.escape("Trying to share variable m/v/part_1, "
                               "but specified shape (4, 2) and found shape (3, 2).")):  # fmt: skip
                sj.get_variable("v/part_1", [4, 2])
        with sj.variable_scope("m"), pytest.raises(ValueError, match=r"Variable m/v/part_0 alre"):
            sj.get_variable("v/part_0", [4, 2])

    init(f)


@pytest.mark.parametrize(
    ("partitioner", "shape", "error", "phrase"),
    [
        (lambda **_: [2], (4, 2), ValueError, "does not match the Variable's rank: [2] vs. (4, 2)"),
        (lambda **_: [0, 1], (4, 2), ValueError, "zero partitions for some axes: [0, 1]"),
        (lambda **_: [2, 2], (4, 2), ValueError,
         "Can only slice a variable along one dimension: shape: (4, 2), partitioning: [2, 2]"),
        (lambda **_: 3, (4, 2), ValueError, "Partitioner must return a sequence, but saw: 3"),
        (3, (4, 2), ValueError, "Partitioner must be callable, but received: 3"),
        (min_max_variable_partitioner(2, axis=1), (4,), ValueError,
         "Cannot partition variable along axis 1 when shape is only (4,)"),
        (fixed_size_partitioner(2, axis=1), (4,), IndexError, "axis 1"),  # TF: IndexError too
        (into(2), (4, None), ValueError, "must be fully defined"),
    ],
)  # fmt: skip
def test_partitioner_returning_bad_results(partitioner, shape, error, phrase):
    with pytest.raises(error, match=re.escape(phrase)):
        init(lambda: sj.get_variable("w", shape, partitioner=partitioner))


def test_shards_initialised_separately_and_regularised_per_shard():
    calls = []

    def recording(shape, dtype=None, partition_info=None):
        calls.append((tuple(shape), partition_info.full_shape, partition_info.var_offset))
        return iota(shape)

    def f():
        with sj.variable_scope("s", regularizer=lambda x: jnp.sum(x), partitioner=into(3)):
            v = sj.get_variable("v", [10, 2], initializer=recording)
        losses = sj.get_regularization_losses()
        shard_losses = [sj.get_regularization_losses(scope=f"s/v/part_{i}/") for i in range(3)]
        return v, losses, shard_losses

    (v, losses, shard_losses), _ = sj.transform(f).init_with_output(None)
    assert calls == [((4, 2), [10, 2], [0, 0]), ((3, 2), [10, 2], [4, 0]),
                     ((3, 2), [10, 2], [7, 0])]  # fmt: skip
    np.testing.assert_array_equal(v, np.concatenate([iota((4, 2)), iota((3, 2)), iota((3, 2))]))
    assert [float(x) for x in losses] == [28.0, 15.0, 15.0]
    assert [[float(x) for x in s] for s in shard_losses] == [[28.0], [15.0], [15.0]]


def test_variance_scaling_uses_the_full_shape():
    init_ = sj.glorot_uniform_initializer()
    part = fixed_size_partitioner(4, axis=1)
    params = init(lambda: sj.get_variable("w", [4, 400], initializer=init_, partitioner=part))
    limit = math.sqrt(6 / (4 + 400))  # 0.1219; the shard shape (4, 100) would give 0.2402
    assert 0.98 * limit < float(jnp.max(jnp.abs(params["w"]))) <= limit


# ------------------------------------------------------------------ 2. differential against TF


SJP = types.SimpleNamespace(
    fixed_size_partitioner=fixed_size_partitioner,
    variable_axis_size_partitioner=variable_axis_size_partitioner,
    min_max_variable_partitioner=min_max_variable_partitioner,
)


def make_partitioner(tf1, spec):
    """TF's (``tf1`` given) or scopejax's partitioner for ``("fixed", n, axis)``,
    ``("axis_size", max_shard_bytes, axis, max_shards)`` or ``("minmax", max_partitions, axis,
    min_slice_size)``."""
    kind, a, axis, *rest = spec
    ns = tf1 or SJP
    if kind == "fixed":
        return ns.fixed_size_partitioner(a, axis)
    if kind == "axis_size":
        return ns.variable_axis_size_partitioner(a, axis, max_shards=rest[0])
    return ns.min_max_variable_partitioner(a, axis, rest[0])


def initializer(kind, tf1, shape, dtype):
    if kind == "iota":
        return iota
    if kind == "tensor":  # a full constant, sliced: a tf.constant in TF, a NumPy array here
        value = (np.arange(math.prod(shape)).reshape(shape) % 30011 + 1).astype(dtype)
        return tf1.constant(value) if tf1 else value
    if kind == "scalar":
        return (tf1 or sj).constant_initializer(2.5 if dtype != "int32" else 7)
    shard = np.arange(math.prod(shape[:-1]) * shape[-1] // 3).reshape(-1, shape[-1]) + 1  # "shard"
    return (tf1 or sj).constant_initializer(shard.astype(dtype))


def reg_for(tf1):
    """A non-separable regulariser: per-shard losses differ from a loss of the whole variable."""
    if tf1:
        return lambda x: 0.5 * tf1.square(tf1.reduce_sum(tf1.cast(x, "float32")))
    return lambda x: 0.5 * jnp.square(jnp.sum(x.astype(jnp.float32)))


def run_tf(tf, shape, spec, dtype, kind="iota", regularizer=False):
    """(slice infos, partitions, shard values, [(loss name, value)], shard grads) from TF."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default():
        with tf1.variable_scope("s", partitioner=make_partitioner(tf1, spec),
                                regularizer=reg_for(tf1) if regularizer else None):  # fmt: skip
            v = tf1.get_variable("v", shape, dtype=tf.as_dtype(dtype),
                                 initializer=initializer(kind, tf1, shape, dtype))  # fmt: skip
        parts = list(v)
        infos = [(p.name, p._save_slice_info.full_name, tuple(p._save_slice_info.full_shape),
                  tuple(p._save_slice_info.var_offset), tuple(p._save_slice_info.var_shape),
                  p._save_slice_info.spec) for p in parts]  # fmt: skip
        losses = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
        grads = tf1.gradients(tf1.add_n(losses), parts) if losses else []
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            values, loss_values, grad_values = sess.run((parts, losses, grads))
    loss_names = [t.name.split("/Regularizer/")[0] for t in losses]
    losses = list(zip(loss_names, loss_values, strict=True))
    return infos, tuple(v._get_partitions()), values, losses, grad_values


def run_scopejax(shape, spec, dtype, kind="iota", regularizer=False, shards=0):
    """(params, regularisation losses, losses found by the TF names of ``shards`` shards)."""

    def f():
        with sj.variable_scope("s", partitioner=make_partitioner(None, spec),
                               regularizer=reg_for(None) if regularizer else None):  # fmt: skip
            init_ = initializer(kind, None, shape, dtype)
            sj.get_variable("v", shape, dtype=dtype, initializer=init_)
        by_name = [sj.get_regularization_losses(f"s/v/part_{i}/Regularizer") for i in range(shards)]
        return sj.get_regularization_losses(), by_name

    (losses, by_name), params = sj.transform(f).init_with_output(None)
    return params, losses, by_name


def assert_same_layout(tf, shape, spec, dtype, kind="iota"):
    infos, partitions, values, _, _ = run_tf(tf, shape, spec, dtype, kind)
    params, _, _ = run_scopejax(shape, spec, dtype, kind)
    part = params.info("s/v").partition
    assert isinstance(part, PartitionInfo) and part.partitions == partitions
    assert [
        (f"{n}:0", "s/v", part.full_shape, part.part_offset(i), part.part_shape(i),
         part.save_slice_spec(i)) for i, n in enumerate(part.part_names("s/v"))
    ] == infos  # fmt: skip
    full = np.concatenate(values, axis=part.axis)
    assert params["s/v"].dtype == full.dtype and params["s/v"].shape == full.shape
    assert params["s/v"].tobytes() == full.tobytes()  # bitwise


LAYOUTS = [
    ((10,), ("fixed", 3, 0)),
    ((10, 3), ("fixed", 3, 0)),
    *[((4, 43), ("fixed", n, 1)) for n in (2, 3, 4, 5)],
    ((50257, 4), ("fixed", 8, 0)),
    ((64, 4), ("axis_size", 256, 0, None)),
    ((7, 5, 3), ("axis_size", 40, 1, 3)),
    ((1000, 2), ("minmax", 4, 0, 1024)),
    ((3, 1, 1), ("fixed", 1, 0)),  # one shard, still named part_0
]


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize(("shape", "spec"), LAYOUTS, ids=[f"{s}-{p}" for s, p in LAYOUTS])
def test_tf_layout_and_iota_values(tf, shape, spec, dtype):
    assert_same_layout(tf, shape, spec, dtype)


@pytest.mark.parametrize(
    ("shape", "spec", "dtype", "kind"),
    [
        ((10, 3), ("fixed", 3, 0), "float32", "tensor"),
        ((4, 43), ("fixed", 5, 1), "int32", "tensor"),
        ((50257, 4), ("fixed", 8, 0), "float16", "tensor"),
        ((10, 3), ("fixed", 3, 0), "float16", "scalar"),
        ((4, 43), ("fixed", 4, 1), "int32", "scalar"),
        ((9, 4), ("fixed", 3, 0), "float32", "shard"),
        ((9, 5), ("fixed", 3, 0), "int32", "shard"),
    ],
)
def test_tf_constant_initializers(tf, shape, spec, dtype, kind):
    assert_same_layout(tf, shape, spec, dtype, kind)


@pytest.mark.parametrize(
    ("shape", "spec"),
    [((10, 3), ("fixed", 3, 0)), ((4, 43), ("fixed", 5, 1)), ((7, 5, 3), ("axis_size", 40, 1, 3))],
)
def test_tf_regularization_losses_one_per_shard(tf, shape, spec):
    _, _, _, tf_losses, _ = run_tf(tf, shape, spec, "float32", regularizer=True)
    params, losses, by_name = run_scopejax(spec=spec, shape=shape, dtype="float32",
                                           regularizer=True, shards=len(tf_losses))  # fmt: skip
    assert [name for name, _ in tf_losses] == params.info("s/v").partition.part_names("s/v")
    assert [np.asarray(x).tobytes() for x in losses] == [x.tobytes() for _, x in tf_losses]
    assert [[np.asarray(x).tobytes() for x in f] for f in by_name] == [
        [x.tobytes()] for _, x in tf_losses
    ]


PHRASES = (
    "Partitioned variable with name", "PartitionedVariable", "Trying to reuse partitioned variable",
    "unpartitioned version of the variable was found", "No partitioner was provided",
    "different partitioning than what was already found", "does not match the Variable's rank",
    "zero partitions", "Can only slice a variable along one dimension", "must return a sequence",
    "Partitioner must be callable", "Cannot partition variable along axis", "must be fully defined",
    "rank at least 1", "already exists", "does not exist", "Trying to share variable",
)  # fmt: skip


def error_key(e):
    msg = str(e)
    kind = "TypeError" if isinstance(e, TypeError) else "ValueError"
    specified = re.search(r"specified (\w+)", msg)
    return (kind, next(p for p in PHRASES if p in msg), specified and specified.group(1))


class Engine:
    """get_variable on TF (``tf1`` given) or scopejax, logging ``("ok", shape)`` or the error."""

    def __init__(self, tf1=None):
        self.tf1, self.m, self.log = tf1, tf1 or sj, []
        self.AUTO, self.scope = self.m.AUTO_REUSE, self.m.variable_scope
        self.const = tf1.constant if tf1 else np.asarray  # a tf.constant stands for an array

    def part(self, n, axis=0):
        return make_partitioner(self.tf1, ("fixed", n, axis))

    def get(self, name, shape=None, **kwargs):
        if self.tf1 and "dtype" in kwargs:
            kwargs["dtype"] = self.tf1.as_dtype(kwargs["dtype"])
        try:
            v = self.m.get_variable(name, shape, **kwargs)
        except (ValueError, TypeError, IndexError) as e:
            self.log.append(error_key(e))
        else:
            shape = v.get_shape().as_list() if self.tf1 else v.shape
            self.log.append(("ok", tuple(shape)))


def prog_reuse_modes(e):
    with e.scope("s", partitioner=e.part(3)):
        e.get("v", [10, 2])
    for reuse, n in ((True, None), (True, 3), (True, 2), (True, 1), (e.AUTO, None), (e.AUTO, 3),
                     (e.AUTO, 4), (False, 3), (False, None)):  # fmt: skip
        with e.scope("s", reuse=reuse, partitioner=n and e.part(n)):
            e.get("v", [10, 2])
    with e.scope("s", reuse=True):
        e.get("v")
        e.get("v", [10, 3])
        e.get("v", [10, 2], dtype="int32")
        e.get("v", [None, 2])
        e.get("v", [10, 2], partitioner=e.part(3))
        e.get("v", [10, 2], partitioner=e.part(2, axis=1))


def prog_missing_and_mixed(e):
    with e.scope("r", reuse=True):
        e.get("z", [4, 2], partitioner=e.part(2))
        e.get("z", [4, 2])
    with e.scope("r", reuse=e.AUTO, partitioner=e.part(2)):
        e.get("z", [4, 2])
        e.get("z", [4, 2])
    with e.scope("m"):
        e.get("x", [4, 2])
        e.get("y", [4, 2], partitioner=e.part(2))
    for reuse in (False, True, e.AUTO):
        with e.scope("m", reuse=reuse):
            e.get("x", [4, 2], partitioner=e.part(2))
    for reuse in (False, e.AUTO, True):
        with e.scope("m", reuse=reuse):
            e.get("y", [4, 2])


def prog_shard_names(e):
    with e.scope("m"):
        e.get("v", [10, 2], partitioner=e.part(3))
    with e.scope("m", reuse=True):
        e.get("v/part_1")
        e.get("v/part_2", [3, 2])
        e.get("v/part_1", [4, 2])
        e.get("v/part_3", [3, 2])
    with e.scope("m", reuse=e.AUTO):
        e.get("v/part_0", [4, 2])
    with e.scope("m"):
        e.get("v/part_0", [4, 2])
    e.get("q/part_0", [2, 2])
    e.get("q", [4, 2], partitioner=e.part(2))
    for i in range(3):
        e.get(f"t/part_{i}", [2, 2])
    e.get("t", [4, 2], partitioner=e.part(2))


def prog_bad_partitioners(e):
    for partitioner in (lambda **_: [2], lambda **_: [0, 1], lambda **_: [2, 2], lambda **_: 3, 3):
        e.get("w", [4, 2], partitioner=partitioner)
    e.get("w", [4], partitioner=make_partitioner(e.tf1, ("minmax", 2, 1, 1)))
    e.get("u", [None, 2], partitioner=e.part(2))
    e.get("c", initializer=e.const(3.0), partitioner=e.part(2))
    e.get("w", [4, 2], partitioner=e.part(2))
    e.get("w", [4, 2], partitioner=lambda **_: [2])  # the partitioner runs before "already exists"


@pytest.mark.parametrize(
    "prog", [prog_reuse_modes, prog_missing_and_mixed, prog_shard_names, prog_bad_partitioners]
)
def test_tf_reuse_programs(tf, prog):
    with tf.Graph().as_default():
        tf_engine = Engine(tf.compat.v1)
        prog(tf_engine)
    sj_engine = Engine()
    init(lambda: prog(sj_engine))
    assert sj_engine.log == tf_engine.log


# ------------------------------------------------------------------ 3. hypothesis


@st.composite
def layouts(draw):
    shape = tuple(draw(st.lists(st.integers(1, 40), min_size=1, max_size=3)))
    axis = draw(st.integers(0, len(shape) - 1))
    spec = draw(st.one_of(
        st.tuples(st.just("fixed"), st.integers(1, 8), st.just(axis)),
        st.tuples(st.just("axis_size"), st.integers(1, 4096), st.just(axis),
                  st.none() | st.integers(1, 6)),
        st.tuples(st.just("minmax"), st.integers(1, 8), st.just(axis), st.integers(1, 2048)),
    ))  # fmt: skip
    return shape, spec, draw(st.sampled_from(["float32", "float16", "int32"]))


@settings(max_examples=30, derandomize=True, deadline=None)
@given(layout=layouts())
def test_hypothesis_tf_agrees_on_layout_and_iota_values(tf, layout):
    assert_same_layout(tf, *layout)


# ------------------------------------------------------------------ 4. apply, jit and grad


def test_jitted_apply_and_grad_of_per_shard_losses_match_tf(tf):
    shape, spec = (10, 3), ("fixed", 3, 0)

    def f():
        with sj.variable_scope("s", partitioner=make_partitioner(None, spec),
                               regularizer=reg_for(None)):  # fmt: skip
            v = sj.get_variable("v", shape, initializer=iota)
        with sj.variable_scope("s", reuse=True):
            shard = sj.get_variable("v/part_2")
        return v, shard, sj.get_regularization_loss()

    model = sj.transform(f)
    params = model.init(None)
    v, shard, loss = jax.jit(model.apply)(params)
    np.testing.assert_array_equal(v, params["s/v"])
    np.testing.assert_array_equal(shard, params["s/v"][7:])
    grads = jax.jit(jax.grad(lambda p: model.apply(p)[2]))(params)
    _, _, _, tf_losses, tf_grads = run_tf(tf, shape, spec, "float32", regularizer=True)
    assert float(loss) == float(sum(x for _, x in tf_losses))
    assert grads["s/v"].tobytes() == np.concatenate(tf_grads, axis=0).tobytes()
    doubled = params.replace({"s/v": params["s/v"] * 2})  # losses follow the given params
    assert float(jax.jit(model.apply)(doubled)[2]) == 4 * float(loss)


# ------------------------------------------------------------------ 5. former divergences


def _run(f):
    return sj.transform(f).init_with_output(jax.random.key(0))


def test_partitioner_without_a_shape_needs_a_fully_defined_shape():
    def f():
        fsp = fixed_size_partitioner
        with sj.variable_scope("s", partitioner=fsp(3)):
            sj.get_variable("v", [10, 2])
        with sj.variable_scope("s", partitioner=fsp(3), reuse=True):
            sj.get_variable("v")

    with pytest.raises(PartitionerError, match=r"Variable s/v: Shape of a new partitioned "
                       r"variable must be fully defined, but instead was <unknown>"):  # fmt: skip
        _run(f)


def test_shard_names_under_a_partitioner_are_refused_like_tf():
    def f():
        with sj.variable_scope("s", partitioner=fixed_size_partitioner(3)):
            sj.get_variable("v", [10, 2])
            sj.get_variable("v/part_1", [3, 2])

    with pytest.raises(ValueError, match=r"A partitioner was provided, but an unpartitioned "
                       r"version of the variable was found: s/v/part_1\."):  # fmt: skip
        _run(f)


def test_plain_shards_then_a_partitioned_variable():
    def make(n, reuse):
        def f():
            sj.get_variable("z/part_0", [5, 2])
            sj.get_variable("z/part_1", [5, 2])
            with sj.variable_scope("", reuse=reuse):
                sj.get_variable("z", [10, 2], partitioner=fixed_size_partitioner(n))
        return f

    with pytest.raises(ValueError, match=r"Variable z/part_0 already exists, disallowed"):
        _run(make(2, None))
    with pytest.raises(sj.UnsupportedFeatureError, match=r"TF1 would assemble partitioned "
                       r"variable z from them"):  # fmt: skip
        _run(make(2, sj.AUTO_REUSE))
    with pytest.raises(PartitionerError, match=r"Partitioner returned 3 shards, and shard "
                       r"z/part_0 was found, but z/part_2 was not"):  # fmt: skip
        _run(make(3, None))


def test_scalar_shape_with_a_scope_partitioner_does_not_reuse_the_partitioned_variable():
    def f():
        with sj.variable_scope("s", partitioner=fixed_size_partitioner(3)):
            sj.get_variable("v", [10, 2])
        with sj.variable_scope("s", partitioner=fixed_size_partitioner(3), reuse=True):
            sj.get_variable("v", [])

    with pytest.raises(ValueError, match=r"No partitioner was provided, but a partitioned "
                       r"version of the variable was found: s/v/part_0"):  # fmt: skip
        _run(f)


def test_constant_initializers_must_have_the_full_shape_and_take_the_dtype():
    def wrong_shape():
        sj.get_variable("c", [10, 2], initializer=np.array([1.0, 2.0], np.float32),
                        partitioner=fixed_size_partitioner(2))  # fmt: skip

    with pytest.raises(ValueError, match=r"Variable c: Shapes \(10, 2\) and \(2,\) are not "
                       r"compatible"):  # fmt: skip
        _run(wrong_shape)

    def python_list():
        return sj.get_variable("c", [3, 2], initializer=[[1, 2], [3, 4], [5, 6]],
                               partitioner=fixed_size_partitioner(2))  # fmt: skip

    value, params = _run(python_list)
    assert params.info("c").dtype == np.float32  # converted to the requested dtype, as TF
    np.testing.assert_array_equal(value, [[1, 2], [3, 4], [5, 6]])
