"""``scopejax.layers`` against real TF1 layers (legacy ``tf.compat.v1.layers`` and tf-slim).

Every program of ``layers_tf_oracle.PROGRAMS`` runs on TensorFlow (one subprocess for all, with
``TF_USE_LEGACY_KERAS=1``) and on scopejax. Both must create the same variables in the same
order with the same shapes, dtypes and collections, raise the same errors, and -- with TF's
initial values loaded into the scopejax store -- give the same outputs (1e-5) and the same
batch-norm moving statistics after one training step. Skipped, with the reason, only when
TensorFlow, tf-keras or tf-slim is missing.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from layers_tf_oracle import PROGRAMS, sj_engine, tf_results

import scopejax as sj

pytest.importorskip("tensorflow", reason="TF1 layers come from tensorflow (pip install "
                    "'scopejax[tf]')")  # fmt: skip
pytest.importorskip("tf_keras", reason="legacy tf.compat.v1.layers need tf-keras")
pytest.importorskip("tf_slim", reason="contrib's layer_norm comes from tf-slim")

KEY = jax.random.key(0)
STATS = "initializer_statistics"
VALUE_PROGRAMS = sorted(n for n in PROGRAMS if n != STATS)


@pytest.fixture(scope="module")
def tf():
    return tf_results()


def run_scopejax(name, abstract=True):
    """(net, params, variables in creation order as TF lists them); abstract params (shapes
    only: TF's values replace them) unless ``abstract=False``."""
    prog, inputs = PROGRAMS[name]
    engine = sj_engine()
    order: list[str] = []

    def record(getter, name, *args, **kwargs):
        if name not in order:
            order.append(name)
        return getter(name, *args, **kwargs)

    net = sj.transform(lambda *xs: prog(engine, *xs), root=sj.Scope.root(custom_getter=record))
    params = net.init_abstract(KEY, *inputs) if abstract else net.init(KEY, *inputs)
    rows = []
    for var in order:
        info = params.info(var)
        cols = tuple(sorted(info.collections))
        if info.partition is None:
            rows.append((var, info.shape, info.dtype.name, cols))
            continue
        part = info.partition
        for i, shard in enumerate(part.part_names(var)):
            shape = list(info.shape)
            shape[part.axis] = part.sizes[i]
            rows.append((shard, tuple(shape), info.dtype.name, cols))
    return net, params, rows


def load_tf_values(params, values):
    """The store with TF's values (partitioned variables assembled from their shards)."""
    new = {}
    for name in params.names():
        part = params.info(name).partition
        if part is None:
            new[name] = values[name]
        else:
            new[name] = np.concatenate([values[s] for s in part.part_names(name)], part.axis)
    return params.replace(new)


@pytest.mark.parametrize("name", VALUE_PROGRAMS)
def test_same_variables_errors_and_outputs_as_tf(tf, name):
    expected = tf[name]
    prog, inputs = PROGRAMS[name]
    if expected["error"] is not None:
        engine = sj_engine()
        with pytest.raises((ValueError, TypeError)) as info:
            sj.transform(lambda *xs: prog(engine, *xs)).init(KEY, *inputs)
        kind, phrase = expected["error"]
        assert isinstance(info.value, ValueError if kind == "ValueError" else TypeError)
        assert phrase in str(info.value)
        return
    net, params, rows = run_scopejax(name)
    assert rows == expected["vars"]
    params = load_tf_values(params, expected["before"])
    apply = jax.jit(lambda p, *xs: net.apply(p, *xs, rng=KEY, mutable=True))
    outputs, updated = apply(params, *inputs)
    assert len(outputs) == len(expected["outputs"])
    for i, (ours, theirs) in enumerate(zip(outputs, expected["outputs"], strict=True)):
        assert np.shape(ours) == np.shape(theirs), (name, i)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=f"{name} #{i}")
    after = load_tf_values(params, expected["after"])
    for var in params.names():  # batch norm's moving statistics after one step; others equal
        np.testing.assert_allclose(updated[var], after[var], rtol=1e-5, atol=1e-6, err_msg=var)


def test_naming_facts_measured_on_tf(tf):
    """The facts of TF1_SEMANTICS rules 28/29/31 as TF itself shows them (guards the oracle)."""
    names = [v[0] for v in tf["dense_naming"]["vars"]]
    assert names[:6] == ["query/kernel", "query/bias", "dense/kernel", "dense/bias",
                         "dense_1/kernel", "dense_1/bias"]  # fmt: skip
    assert "dense_2/v" in names  # the unnamed layers consumed default names dense, dense_1
    assert tf["dense_named_twice_raises"]["error"] == ("ValueError", "already exists")
    ln = tf["layer_norm"]["vars"]
    assert [v[0] for v in ln[:4]] == ["LayerNorm/beta", "LayerNorm/gamma", "LayerNorm_1/beta",
                                      "LayerNorm_1/gamma"]  # fmt: skip
    assert "model_variables" in ln[0][3]
    assert [v[0] for v in tf["dropout_flatten_scopes"]["vars"]] == ["dropout_1/v", "flatten_1/v"]
    bn = tf["bn_2d_training"]["vars"]
    assert [v[0] for v in bn[:4]] == ["batch_normalization/gamma", "batch_normalization/beta",
                                      "batch_normalization/moving_mean",
                                      "batch_normalization/moving_variance"]  # fmt: skip
    assert bn[2][3] == ("variables",)  # moving statistics: GLOBAL_VARIABLES only
    # Sharing a whole model twice finds the same variables (default names restart, rule 31).
    assert len(tf["model_twice"]["vars"]) == 8


def test_scope_and_layer_regularizers_give_tf_total_loss(tf):
    """TF adds two losses for the kernel (scope's + layer's); scopejax one entry, same total."""
    _, params, _ = run_scopejax("scope_and_layer_regularizer")
    params = load_tf_values(params, tf["scope_and_layer_regularizer"]["before"])

    def count(x):
        net_out = PROGRAMS["scope_and_layer_regularizer"][0](sj_engine(), x)
        return net_out, len(sj.get_regularization_losses())

    _, n = sj.transform(count).apply(params, *PROGRAMS["scope_and_layer_regularizer"][1])
    assert n == 2  # r/dense/kernel (scope + layer, summed) and r/dense/bias (scope)
    assert tf["regularizers"]["outputs"][-1] == 3  # without a scope regularizer: TF's count


def test_initializer_statistics_match_tf(tf):
    """Random initializers: TF's distribution (values differ: JAX's PRNG)."""
    before = tf[STATS]["before"]
    _, params, rows = run_scopejax(STATS, abstract=False)
    assert rows == tf[STATS]["vars"]
    tn_ours, tn_tf = np.asarray(params["tn/dense/kernel"]), before["tn/dense/kernel"]
    for sample in (tn_ours, tn_tf):  # not rescaled: std ~0.88 * 0.02, within 2 stddev
        assert abs(sample.std() / 0.02 - 0.88) < 0.02
        assert np.abs(sample).max() <= 2 * 0.02
    for var, fans in (("glorot/kernel", 512 + 128), ("conv/kernel", 9 * 32 + 9 * 16)):
        limit = np.sqrt(6 / fans)
        for sample in (np.asarray(params[var]), before[var]):
            assert np.abs(sample).max() <= limit
            assert abs(sample.std() / (limit / np.sqrt(3)) - 1) < 0.03, var
        assert not np.asarray(params[var.replace("kernel", "bias")]).any()  # zeros
