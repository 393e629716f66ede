"""Unit tests of ``scopejax.layers`` (no TensorFlow: see test_layers_tf.py for the differential
tests): errors and their messages, dropout statistics, batch-norm state, layouts, partitioned
embeddings on a mesh, constraints, and the lifted transforms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj
from scopejax import layers

KEY = jax.random.key(0)
X = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
X4 = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5, 6, 3)), jnp.float32)


def init(fn, *args, rng=KEY):
    return sj.transform(fn).init(rng, *args)


def test_public_namespace():
    assert sorted(layers.__all__) == layers.__all__
    for name in layers.__all__:
        fn = getattr(layers, name)
        assert callable(fn) and fn.__doc__ and "TF1 equivalent" in fn.__doc__, name


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("call, error, phrases", [
    (lambda: layers.dense(jnp.ones(3), 2), sj.ShapeMismatchError,
     ["dense: expected inputs of rank >= 2", "found shape (3,)"]),
    (lambda: layers.dense(X, 0), sj.ScopeTypeError, ["dense: units must be a positive integer"]),
    (lambda: layers.dense(X, 2, reuse=True), sj.ReuseError,
     ["dense(reuse=True) needs a name", "Pass name='...'"]),
    (lambda: layers.dense(X.astype(jnp.int32), 2), sj.ScopeTypeError,
     ["dense: inputs must be a floating array", "got dtype int32", "astype"]),
    (lambda: layers.dense(X, 2, activation="relu"), sj.ScopeTypeError,
     ["dense: activation must be a callable", "'relu'"]),
    (lambda: layers.dense(X, 2, name=3), sj.ScopeTypeError, ["dense: name must be a string"]),
    (lambda: layers.conv2d(X, 2, 3), sj.ShapeMismatchError,
     ["conv2d: expected inputs of rank 4", "found shape (4, 3)"]),
    (lambda: layers.conv2d(X4, 2, 3, strides=2, dilation_rate=2), sj.ScopeTypeError,
     ["strides > 1 not supported in conjunction with dilation_rate > 1"]),
    (lambda: layers.conv2d(X4, 2, 3, padding="full"), sj.ScopeTypeError,
     ["conv2d: padding must be one of 'valid', 'same'", "'full'"]),
    (lambda: layers.conv2d(X4, 2, (3, 3, 3)), sj.ScopeTypeError,
     ["conv2d: kernel_size must be a positive int or a tuple of 2 positive ints"]),
    (lambda: layers.conv2d(X4, 2, 3, data_format="NHWC"), sj.ScopeTypeError,
     ["data_format must be 'channels_last' or 'channels_first'"]),
    (lambda: layers.dropout(X, 1.0, training=True), sj.ScopeTypeError,
     ["dropout: rate must be in [0, 1)", "keep_prob=p"]),
    (lambda: layers.dropout(X, 0.5, training="yes"), sj.ScopeTypeError,
     ["dropout: training must be a bool"]),
    (lambda: layers.dropout(X, 0.5, noise_shape=[4, 2], training=True), sj.ShapeMismatchError,
     ["noise_shape (4, 2) does not broadcast to the inputs' shape (4, 3)"]),
    (lambda: layers.batch_normalization(X, axis=2), sj.ShapeMismatchError,
     ["batch_normalization: axis 2 is out of range for inputs of shape (4, 3)"]),
    (lambda: layers.layer_norm(X, begin_norm_axis=2), sj.ShapeMismatchError,
     ["begin_params_axis (-1) and begin_norm_axis (2) must be < rank(inputs) (2)"]),
    (lambda: layers.layer_norm(X, reuse=True), sj.ReuseError,
     ["reuse=True cannot be used without a name_or_scope"]),
    (lambda: layers.embedding_lookup(X, jnp.array([0.5])), sj.ScopeTypeError,
     ["embedding_lookup: ids must be integers", "float32"]),
    (lambda: layers.embedding_lookup(X, jnp.array([4])), sj.ShapeMismatchError,
     ["ids must lie in [0, 4) for a table of 4 rows", "from 4 to 4"]),
    (lambda: layers.embedding_lookup(X, jnp.array([0]), partition_strategy="x"),
     sj.ScopeTypeError, ["partition_strategy must be 'mod' or 'div'"]),
])  # fmt: skip
def test_wrong_inputs_raise_scopejax_errors_naming_the_layer(call, error, phrases):
    with pytest.raises(error) as info:
        init(call)
    assert isinstance(info.value, sj.ScopeJaxError)
    for phrase in phrases:
        assert phrase in str(info.value)


def test_wrong_shard_sizes_are_refused():
    with pytest.raises(sj.ShapeMismatchError, match=r"'mod', 3 shards of 4 ids in all must have "
                       r"\[2, 1, 1\] rows; found \[1, 1, 2\]"):
        layers.embedding_lookup([X[:1], X[1:2], X[2:]], jnp.array([0]))
    np.testing.assert_array_equal(  # the layout TF's partitioners give is accepted
        layers.embedding_lookup([X[:2], X[2:3], X[3:]], jnp.array([1, 3]), "div"),
        X[jnp.array([1, 3])])


def test_named_layer_twice_and_reuse_of_a_different_shape():
    def twice(x):
        layers.dense(x, 2, name="query")
        return layers.dense(x, 2, name="query")

    with pytest.raises(sj.VariableExistsError, match="Variable query/kernel already exists"):
        init(twice, X)

    def reshaped(x):
        layers.dense(x, 2, name="query")
        return layers.dense(x[:, :2], 2, name="query", reuse=True)

    with pytest.raises(sj.ShapeMismatchError, match="query/kernel"):
        init(reshaped, X)


# ------------------------------------------------------------------------------ dropout


def test_dropout_statistics_scaling_and_keys():
    x = jnp.ones((200, 500))

    def f(x, training=True):
        return layers.dropout(x, 0.3, training=training), layers.dropout(x, 0.3, training=training)

    net = sj.transform(f)
    params = net.init(KEY, x)
    a, b = net.apply(params, x, rng=jax.random.key(1))
    values = np.unique(np.asarray(a))
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(float((a == 0).mean()) - 0.3) < 0.01  # rate is the fraction dropped
    assert abs(float(a.mean()) - 1.0) < 0.01  # expectation kept
    assert not np.array_equal(a, b)  # dropout and dropout_1 draw different keys
    again = net.apply(params, x, rng=jax.random.key(1))[0]
    other = net.apply(params, x, rng=jax.random.key(2))[0]
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, other)
    same = net.apply(params, x, False)  # training=False: identity, no key needed
    assert same[0] is x or np.array_equal(same[0], x)
    with pytest.raises(sj.NoRngError, match="dropout"):
        net.apply(params, x)


def test_dropout_noise_shape_seed_and_traced_flag():
    x = jnp.ones((8, 50))

    def f(x, training):
        return (layers.dropout(x, 0.5, noise_shape=[None, 1], training=training),
                layers.dropout(x, 0.5, seed=3, training=training))

    net = sj.transform(f)
    params = net.init(KEY, x, True)
    shared, seeded = jax.jit(net.apply)(params, x, jnp.asarray(True), rng=KEY)
    rows = np.asarray(shared)
    assert all(len(set(r)) == 1 for r in rows)  # one mask value per row
    assert set(np.unique(rows)) <= {0.0, 2.0}
    off = jax.jit(net.apply)(params, x, jnp.asarray(False), rng=KEY)
    np.testing.assert_array_equal(off[0], x)
    eager = net.apply(params, x, True, rng=KEY)
    np.testing.assert_array_equal(eager[1], seeded)  # traced flag == Python flag


# ------------------------------------------------------------------------------ batch norm


def test_batch_norm_state_needs_a_mutable_call_and_traced_flag_matches():
    def f(x, training):
        return layers.batch_normalization(x, training=training, momentum=0.5)

    net = sj.transform(f)
    params = net.init(KEY, X, False)
    with pytest.raises(sj.NotMutableError, match="batch_normalization/moving_mean"):
        net.apply(params, X, True)
    y_eval = net.apply(params, X, False)  # inference: no state change, no mutable needed
    np.testing.assert_allclose(y_eval, X / np.sqrt(1 + 1e-3), rtol=1e-6)
    y, new = net.apply(params, X, True, mutable=True)
    np.testing.assert_allclose(new["batch_normalization/moving_mean"], 0.5 * X.mean(0),
                               rtol=1e-5, atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(new["batch_normalization/moving_variance"],
                               0.5 + 0.5 * X.var(0), rtol=1e-5)  # biased: rank 2 is not fused
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    jitted = jax.jit(lambda p, x, t: net.apply(p, x, t, mutable=True))
    for flag, expected in ((True, (y, new)), (False, (y_eval, params))):
        out, state = jitted(params, X, jnp.asarray(flag))
        np.testing.assert_allclose(out, expected[0], rtol=1e-6)
        for name in params.names():
            np.testing.assert_allclose(state[name], expected[1][name], rtol=1e-6)


def test_batch_norm_channels_first_and_low_precision():
    def both(x):
        last = layers.batch_normalization(x, training=True, name="last")
        first = layers.batch_normalization(jnp.moveaxis(x, -1, 1), axis=1, training=True,
                                           name="first")  # fmt: skip
        return last, jnp.moveaxis(first, 1, -1)

    net = sj.transform(both)
    params = net.init(KEY, X4)
    (last, first), new = net.apply(params, X4, mutable=True)
    np.testing.assert_allclose(last, first, rtol=1e-5, atol=1e-6)
    n = 2 * 5 * 6  # fused 4-D: the moving variance gets the unbiased batch variance
    unbiased = np.asarray(X4).reshape(-1, 3).var(0) * n / (n - 1)
    for scope in ("last", "first"):
        np.testing.assert_allclose(new[f"{scope}/moving_variance"], 0.99 + 0.01 * unbiased,
                                   rtol=1e-6)  # fmt: skip
    low = sj.transform(lambda x: layers.batch_normalization(x, training=False))
    params = low.init(KEY, X.astype(jnp.bfloat16))
    assert params.info("batch_normalization/gamma").dtype == np.float32
    assert low.apply(params, X.astype(jnp.bfloat16)).dtype == jnp.bfloat16


# ------------------------------------------------------------------------------ layouts


@pytest.mark.parametrize("layer, kwargs", [
    (layers.conv2d, dict(filters=4, kernel_size=3, strides=2, padding="same")),
    (layers.conv2d, dict(filters=2, kernel_size=(2, 3), dilation_rate=2)),
    (layers.conv2d_transpose, dict(filters=3, kernel_size=3, strides=2)),
    (layers.separable_conv2d, dict(filters=4, kernel_size=3, depth_multiplier=2)),
])  # fmt: skip
def test_channels_first_equals_channels_last(layer, kwargs):
    def both(x):
        with sj.variable_scope("s", reuse=sj.AUTO_REUSE):
            last = layer(x, name="l", **kwargs)
            first = layer(jnp.moveaxis(x, -1, 1), data_format="channels_first", name="l",
                          **kwargs)  # fmt: skip
        return last, jnp.moveaxis(first, 1, -1)

    net = sj.transform(both)
    params = net.init(KEY, X4)
    last, first = net.apply(params, X4)
    np.testing.assert_allclose(last, first, rtol=1e-5, atol=1e-5)
    flat = sj.transform(lambda x: layers.flatten(x, data_format="channels_first"))
    np.testing.assert_array_equal(flat.apply(flat.init(KEY, X4), jnp.moveaxis(X4, -1, 1)),
                                  X4.reshape(2, -1))  # fmt: skip


def test_conv1d_causal_sees_only_the_past():
    x = jnp.zeros((1, 6, 1)).at[0, 3, 0].set(1.0)
    net = sj.transform(lambda x: layers.conv1d(x, 1, 3, padding="causal", use_bias=False,
                                               kernel_initializer=sj.ones_initializer()))
    y = net.apply(net.init(KEY, x), x)[0, :, 0]
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])


# ------------------------------------------------------------------------------ embeddings


def test_partitioned_embedding_on_a_mesh_is_one_gather_with_tf_reading():
    mesh = jax.make_mesh((8,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
    ids = jnp.array([[0, 1, 7, 8], [9, 12, 19, 3]])

    def embed(ids):
        with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(8)):
            table = sj.get_variable("embedding", [20, 4])  # uneven: 3,3,3,3,2,2,2,2
        return (layers.embedding_lookup(table, ids),
                layers.embedding_lookup(table, ids, partition_strategy="div"), table)

    net = sj.transform(embed, mesh=mesh)
    params = net.init(KEY, ids)
    mod, div, table = jax.jit(net.apply)(params, ids)
    table = np.asarray(table)
    part = params.info("lm/embedding").partition
    shards = [table[o:o + s] for o, s in zip(part.offsets, part.sizes, strict=True)]
    want = np.stack([[shards[i % 8][i // 8] for i in row] for row in np.asarray(ids)])
    np.testing.assert_array_equal(mod, want)  # TF: row i // 8 of shard i % 8
    np.testing.assert_array_equal(div, table[np.asarray(ids)])  # logical row i
    # The same lookups given TF's list of shards.
    listed = sj.transform(lambda ids: (layers.embedding_lookup(shards, ids),
                                       layers.embedding_lookup(shards, ids, "div")))
    got = listed.apply(listed.init(KEY, ids), ids)
    np.testing.assert_array_equal(got[0], want)
    np.testing.assert_array_equal(got[1], div)


def test_embedding_partitioned_along_columns_is_refused():
    def embed(ids):
        table = sj.get_variable("emb", [4, 6], partitioner=sj.fixed_size_partitioner(2, axis=1))
        return layers.embedding_lookup(table, ids)

    with pytest.raises(sj.UnsupportedFeatureError, match="emb is partitioned along axis 1"):
        init(embed, jnp.array([0]))


def test_embedding_max_norm_clips_rows():
    table = jnp.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    got = layers.embedding_lookup(table, jnp.array([0, 1, 2]), max_norm=1.0)
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], rtol=1e-6)


# ------------------------------------------------------------------------------ with the core


def test_constraints_regularizers_and_trainable():
    def f(x):
        with sj.variable_scope("m"):
            h = layers.dense(x, 3, kernel_constraint=lambda k: jnp.clip(k, -0.1, 0.1),
                             kernel_regularizer=sj.l2_regularizer(1.0), trainable=False)
            return layers.layer_norm(h, trainable=False), sj.get_regularization_loss()

    net = sj.transform(f)
    params = net.init(KEY, X)
    assert params.filter(trainable=True).names() == ()
    clipped = params.apply_constraints()["m/dense/kernel"]
    original = float(jnp.abs(params["m/dense/kernel"]).max())
    assert float(jnp.abs(clipped).max()) <= 0.1 + 1e-6 < original
    _, loss = net.apply(params, X)
    np.testing.assert_allclose(loss, 0.5 * jnp.sum(params["m/dense/kernel"] ** 2), rtol=1e-6)


def test_layers_in_scan_layers_and_remat():
    def block(h):
        return layers.layer_norm(layers.dense(h, 3, activation=jax.nn.relu,
                                              kernel_regularizer=sj.l2_regularizer(0.1)))

    def deep(x):
        y = sj.scan_layers(block, x, 3)
        return sj.remat(lambda z: layers.batch_normalization(z, training=True))(y), \
            sj.get_regularization_loss()

    net = sj.transform(deep)
    params = net.init(KEY, X)
    names = params.unstack_layers().names()
    assert "layer_2/dense/kernel" in names and "layer_0/LayerNorm/gamma" in names
    (_, loss), new = jax.jit(lambda p, x: net.apply(p, x, mutable=True))(params, X)
    assert float(loss) > 0
    assert not np.allclose(new["batch_normalization/moving_mean"], 0)
