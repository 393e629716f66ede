"""TF1 ports end to end: an LSTM language model, a batch-norm convnet and a dropout MLP.

Each is written as TF1 code was (variable_scope, get_variable, collections, assign ops, random
ops), trained a few jitted optax steps, and checked for exact variable names, no retracing and
the behaviour of the lifted transforms (scan, remat, vmap, scan_layers) it uses.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import scopejax as sj

KEY = jax.random.key(0)
GK = sj.GraphKeys


def fit(loss_fn, params, steps, lr):
    """Adam on the trainable part, then the constraints (TF1's ``minimize``); ``loss_fn(trainable,
    rest, step) -> (loss, new_rest)``. Asserts one trace and a treedef that never changes."""
    traces = []
    opt = optax.adam(lr)
    trainable, rest = params.split()
    treedef = jax.tree.structure(params)

    def counted(tr, rs, i):
        traces.append(1)
        return loss_fn(tr, rs, i)

    @jax.jit
    def step(tr, rs, state, i):
        (loss, rs), grads = jax.value_and_grad(counted, has_aux=True)(tr, rs, i)
        updates, state = opt.update(grads, state, tr)
        return optax.apply_updates(tr, updates).apply_constraints(), rs, state, loss

    state, losses = opt.init(trainable), []
    for i in range(steps):
        trainable, rest, state, loss = step(trainable, rest, state, jnp.asarray(i))
        assert jax.tree.structure(trainable.merge(rest)) == treedef
        losses.append(float(loss))
    assert len(traces) == 1
    return trainable.merge(rest), losses


def assert_same_store(a, b, exact=True):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for name in a.names():
        if exact:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        else:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


# ------------------------------------------------------------- 1. char-level LSTM language model

TEXT = "hello world " * 4
VOCAB = sorted(set(TEXT))
V, E, H, T = len(VOCAB), 8, 16, 12
IDS = jnp.array([[VOCAB.index(c) for c in TEXT[o : o + T + 1]] for o in (0, 3, 6, 9)])
INPUTS, TARGETS = IDS[:, :-1], IDS[:, 1:]
LSTM_ORDER = ("model/embedding", "model/rnn/lstm_cell/kernel", "model/rnn/lstm_cell/bias",
              "model/softmax_w", "model/softmax_b")  # creation order  # fmt: skip


def lstm_cell(state, x, reuse=None):
    """TF1 LSTMCell (as named under dynamic_rnn): kernel over [x, h], gates i, j, f, o, forget 1."""
    c, h = state
    with sj.variable_scope("rnn/lstm_cell", reuse=reuse):
        kernel = sj.get_variable("kernel", [E + H, 4 * H])
        bias = sj.get_variable("bias", [4 * H], initializer=sj.zeros_initializer())
    gates = jnp.concatenate([x, h], axis=1) @ kernel + bias[None, :]
    i, j, f, o = jnp.split(gates, 4, axis=1)
    c = c * jax.nn.sigmoid(f + 1.0) + jax.nn.sigmoid(i) * jnp.tanh(j)
    h = jnp.tanh(c) * jax.nn.sigmoid(o)
    return (c, h), h


def char_lm(inputs, targets, use_reg=True, hand_scan=False):
    """Returns (loss, regularization losses); loss = xent (+ the regularization loss)."""
    with sj.variable_scope("model", regularizer=sj.l2_regularizer(1e-4)):
        embedding = sj.get_variable("embedding", [V, E])
        xs = jnp.swapaxes(embedding[inputs], 0, 1)  # time major, like dynamic_rnn(time_major)
        zeros = jnp.zeros((inputs.shape[0], H))
        if hand_scan:  # create before the loop; the plain lax.scan body only reuses
            lstm_cell((zeros, zeros), xs[0])
            cell = functools.partial(lstm_cell, reuse=True)
            _, hs = jax.lax.scan(cell, (zeros, zeros), xs)
        else:
            _, hs = sj.scan(lstm_cell, (zeros, zeros), xs)
        softmax_w = sj.get_variable("softmax_w", [H, V])
        softmax_b = sj.get_variable("softmax_b", [V], initializer=sj.zeros_initializer())
        logits = jnp.swapaxes(hs @ softmax_w + softmax_b[None, None, :], 0, 1)
    xent = optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()
    loss = xent + sj.get_regularization_loss() if use_reg else xent
    return loss, sj.get_regularization_losses()


def test_char_lstm_lm_trains_with_tf1_names_and_regularization():
    model = sj.transform(char_lm)
    (loss0, init_regs), params = model.init_with_output(KEY, INPUTS, TARGETS)
    assert params.names() == tuple(sorted(LSTM_ORDER))
    assert [params.info(n).shape for n in LSTM_ORDER] == [(V, E), (E + H, 4 * H), (4 * H,),
                                                         (H, V), (V,)]  # fmt: skip
    lm = jax.jit(model.apply, static_argnames="use_reg")
    loss, regs = lm(params, INPUTS, TARGETS)
    xent0 = lm(params, INPUTS, TARGETS, use_reg=False)[0]
    want = [1e-4 * jnp.sum(params[n] ** 2) / 2 for n in LSTM_ORDER]
    for got in (init_regs, regs):  # one loss per variable, in creation order, init and apply alike
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6)
    np.testing.assert_allclose(loss, loss0, rtol=1e-6)
    np.testing.assert_allclose(loss - xent0, sum(want), rtol=1e-3)

    def loss_fn(tr, rest, i):
        return model.apply(tr.merge(rest), INPUTS, TARGETS)[0], rest

    trained, losses = fit(loss_fn, params, steps=30, lr=0.05)
    assert losses[-1] < 0.7 * losses[0]
    assert float(lm(trained, INPUTS, TARGETS)[0]) < 0.7 * float(loss0)


def test_char_lstm_regularizer_gradient_is_scale_times_weight():
    model = sj.transform(char_lm)
    params = model.init(KEY, INPUTS, TARGETS)
    grad = jax.jit(jax.grad(lambda p, r: model.apply(p, INPUTS, TARGETS, use_reg=r)[0]),
                   static_argnums=1)  # fmt: skip
    with_reg, without = grad(params, True), grad(params, False)
    for name in LSTM_ORDER:
        np.testing.assert_allclose(with_reg[name] - without[name], 1e-4 * params[name],
                                   rtol=1e-3, atol=1e-8, err_msg=name)  # fmt: skip


def test_char_lstm_jit_init_is_bitwise_eager_init():
    model = sj.transform(char_lm)
    eager = model.init(KEY, INPUTS, TARGETS)
    jitted = jax.jit(model.init)(KEY, INPUTS, TARGETS)
    assert_same_store(jitted, eager)


def test_char_lstm_hand_written_lax_scan_over_reusing_cell():
    model = sj.transform(char_lm)
    hand = sj.transform(functools.partial(char_lm, hand_scan=True))
    params = model.init(KEY, INPUTS, TARGETS)
    assert_same_store(hand.init(KEY, INPUTS, TARGETS), params)
    (loss, regs), (hand_loss, hand_regs) = (
        jax.jit(m.apply)(params, INPUTS, TARGETS) for m in (model, hand)
    )
    assert len(regs) == len(hand_regs) == 5  # reusing a variable adds no regularization loss
    np.testing.assert_allclose(hand_loss, loss, rtol=1e-6)
    g1, g2 = (jax.jit(jax.grad(lambda p, m=m: m.apply(p, INPUTS, TARGETS)[0]))(params)
              for m in (model, hand))  # fmt: skip
    assert_same_store(g1, g2, exact=False)


# --------------------------------------------------------------- 2. batch-norm convnet with state

IMAGES = jax.random.normal(jax.random.key(1), (32, 8, 8, 1))
LABELS = (IMAGES.mean(axis=(1, 2, 3)) > 0).astype(jnp.int32)
MOVING = ("conv1/BatchNorm/moving_mean", "conv1/BatchNorm/moving_variance",
          "conv2/BatchNorm/moving_mean", "conv2/BatchNorm/moving_variance")  # fmt: skip


def batch_norm(x, training):
    """TF1 batch norm (contrib.layers style), moving statistics updated by assign ops."""
    channels = [x.shape[-1]]
    stats = dict(trainable=False, collections=[GK.GLOBAL_VARIABLES, GK.MOVING_AVERAGE_VARIABLES])
    with sj.variable_scope("BatchNorm"):
        beta = sj.get_variable("beta", channels, initializer=sj.zeros_initializer())
        gamma = sj.get_variable("gamma", channels, initializer=sj.ones_initializer())
        moving_mean = sj.get_variable("moving_mean", channels,
                                      initializer=sj.zeros_initializer(), **stats)  # fmt: skip
        moving_var = sj.get_variable("moving_variance", channels,
                                     initializer=sj.ones_initializer(), **stats)  # fmt: skip
        if training:
            mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
            sj.assign_moving_average(moving_mean, mean, decay=0.9)
            sj.assign_moving_average(moving_var, var, decay=0.9)
        else:
            mean, var = moving_mean, moving_var
    inv = jax.lax.rsqrt(var + 1e-3) * gamma
    return (x - mean[None, None, None, :]) * inv[None, None, None, :] + beta[None, None, None, :]


def conv_block(x, name, channels, training):
    with sj.variable_scope(name):
        w = sj.get_variable("weights", [3, 3, x.shape[-1], channels])
        y = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip
        return jax.nn.relu(batch_norm(y, training))


def convnet(x, training=False, use_remat=False):
    h = conv_block(x, "conv1", 4, training)
    block2 = functools.partial(conv_block, name="conv2", channels=4, training=training)
    h = (sj.remat(block2) if use_remat else block2)(h)
    with sj.variable_scope("logits"):
        w = sj.get_variable("weights", [4, 2])
        b = sj.get_variable("biases", [2], initializer=sj.zeros_initializer())
    return h.mean(axis=(1, 2)) @ w + b[None, :]


def xent(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def bn_loss_fn(model):
    def loss_fn(trainable, state, i):
        logits, updated = model.apply(trainable.merge(state), IMAGES, training=True, mutable=True)
        return xent(logits, LABELS), updated.split()[1]

    return loss_fn


def test_batchnorm_convnet_trains_and_carries_moving_stats():
    model = sj.transform(convnet)
    params = model.init(KEY, IMAGES, training=True)
    assert params.names() == (
        "conv1/BatchNorm/beta", "conv1/BatchNorm/gamma", *MOVING[:2], "conv1/weights",
        "conv2/BatchNorm/beta", "conv2/BatchNorm/gamma", *MOVING[2:], "conv2/weights",
        "logits/biases", "logits/weights")  # fmt: skip
    assert params.collection(GK.MOVING_AVERAGE_VARIABLES) == MOVING
    info = params.info(MOVING[1])
    assert not info.trainable and info.collections == ("variables", "moving_average_variables")
    assert params.split()[1].names() == MOVING
    assert float(params[MOVING[0]].sum()) == 0.0  # init returns initial values, not assigned ones

    eval_loss0 = float(xent(model.apply(params, IMAGES), LABELS))
    trained, losses = fit(bn_loss_fn(model), params, steps=30, lr=0.05)
    assert losses[-1] < 0.7 * losses[0]
    for name in MOVING:
        assert not np.allclose(trained[name], params[name]), name
    eval_logits = jax.jit(model.apply)(trained, IMAGES)  # training=False: no mutable, no rng
    assert eval_logits.shape == (32, 2)  # the output alone: nothing was assigned
    np.testing.assert_array_equal(eval_logits, jax.jit(model.apply)(trained, IMAGES))
    assert float(xent(eval_logits, LABELS)) < 0.7 * eval_loss0


def test_batchnorm_mutable_return_only_changes_assigned_stats():
    model = sj.transform(convnet)
    params = model.init(KEY, IMAGES)
    out, updated = model.apply(params, IMAGES, training=True, mutable=True)
    assert jax.tree.structure(updated) == jax.tree.structure(params)
    for name in params.names():
        if name in MOVING:
            assert not np.array_equal(updated[name], params[name]), name
        else:
            assert updated[name] is params[name], name
    conv1 = jax.lax.conv_general_dilated(IMAGES, params["conv1/weights"], (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip
    want = params[MOVING[0]] - (params[MOVING[0]] - conv1.mean(axis=(0, 1, 2))) * (1 - 0.9)
    np.testing.assert_allclose(updated[MOVING[0]], want, rtol=1e-5, atol=1e-7)
    out2, updated2 = model.apply(params, IMAGES, training=True,
                                 mutable=[GK.MOVING_AVERAGE_VARIABLES])  # fmt: skip
    np.testing.assert_array_equal(out2, out)
    assert_same_store(updated2, updated)


def test_batchnorm_assign_needs_mutable():
    model = sj.transform(convnet)
    params = model.init(KEY, IMAGES)
    with pytest.raises(sj.NotMutableError) as e:
        model.apply(params, IMAGES, training=True)
    assert str(e.value) == (
        "Cannot assign to variable conv1/BatchNorm/moving_mean: this apply call is not mutable. "
        "Call model.apply(params, ..., mutable=True) (or mutable=[collection keys]); it then "
        "returns (output, updated_params).")  # fmt: skip
    with pytest.raises(sj.NotMutableError) as e:
        model.apply(params, IMAGES, training=True, mutable=["other"])
    assert str(e.value).startswith(
        "Cannot assign to variable conv1/BatchNorm/moving_mean: it is in collections "
        "['variables', 'moving_average_variables'], none of which is mutable in this call "
        "(mutable=['other']).")  # fmt: skip


def test_batchnorm_remat_block_matches_plain_block():
    plain, remat = sj.transform(convnet), sj.transform(functools.partial(convnet, use_remat=True))
    params = plain.init(KEY, IMAGES)
    assert_same_store(remat.init(KEY, IMAGES), params)
    trainable, state = params.split()
    outs = []
    for model in (plain, remat):
        value_and_grad = jax.value_and_grad(bn_loss_fn(model), has_aux=True)
        outs.append(jax.jit(value_and_grad)(trainable, state, 0))
    ((loss_p, state_p), grads_p), ((loss_r, state_r), grads_r) = outs
    np.testing.assert_allclose(loss_r, loss_p, rtol=1e-6)
    assert_same_store(state_r, state_p, exact=False)  # stats assigned inside the remat block
    assert not np.allclose(state_r[MOVING[2]], state[MOVING[2]])
    assert_same_store(grads_r, grads_p, exact=False)
    np.testing.assert_allclose(remat.apply(params, IMAGES), plain.apply(params, IMAGES), rtol=1e-6)


# --------------------------------------------------------------------------- 3. dropout MLP

X = jax.random.normal(jax.random.key(2), (64, 4))
Y = jnp.sin(X @ jnp.array([[1.0], [-2.0], [0.5], [1.5]]))
MLP_NAMES = ("mlp/hidden1/biases", "mlp/hidden1/weights", "mlp/hidden2/biases",
             "mlp/hidden2/weights", "mlp/out/biases", "mlp/out/weights")  # fmt: skip


def dropout(x, keep_prob):
    """tf.nn.dropout(x, keep_prob): keep with probability keep_prob, scale kept by 1/keep_prob."""
    with sj.variable_scope(None, default_name="dropout"):
        keep = jax.random.bernoulli(sj.next_rng_key(), keep_prob, x.shape)
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))


def max_norm(cap):
    """tf.keras.constraints.max_norm(cap): rescales kernel columns whose norm exceeds cap."""

    def constraint(w):
        norms = jnp.sqrt(jnp.sum(w**2, axis=0))
        return w * (jnp.clip(norms, 0.0, cap) / (1e-7 + norms))[None, :]

    return constraint


def dense(x, units, name, constraint=None):
    with sj.variable_scope(name):
        w = sj.get_variable("weights", [x.shape[-1], units], constraint=constraint)
        b = sj.get_variable("biases", [units], initializer=sj.zeros_initializer())
    return x @ w + b[None, :]


def mlp(x, keep_prob=1.0):
    with sj.variable_scope("mlp"):
        h = x
        for name, constraint in (("hidden1", max_norm(0.6)), ("hidden2", None)):
            h = jax.nn.relu(dense(h, 32, name, constraint))
            if keep_prob < 1.0:
                h = dropout(h, keep_prob)
        return dense(h, 1, "out")


def mlp_per_example(x, keep_prob=1.0):
    return sj.vmap(lambda row: mlp(row[None, :], keep_prob)[0])(x)


def mse(pred, y):
    return ((pred - y) ** 2).mean()


def test_dropout_mlp_trains_with_fresh_rng_per_step():
    model = sj.transform(mlp)
    params = model.init(KEY, X, keep_prob=0.8)
    assert params.names() == MLP_NAMES
    assert_same_store(params, model.init(KEY, X))  # dropout owns no variables
    eval_loss0 = float(mse(model.apply(params, X), Y))

    def loss_fn(tr, rest, i):
        pred = model.apply(tr.merge(rest), X, keep_prob=0.8, rng=jax.random.fold_in(KEY, i))
        return mse(pred, Y), rest

    trained, losses = fit(loss_fn, params, steps=40, lr=0.02)
    assert losses[-1] < 0.7 * losses[0]
    assert float(mse(jax.jit(model.apply)(trained, X), Y)) < 0.7 * eval_loss0
    norms = [jnp.linalg.norm(p["mlp/hidden1/weights"], axis=0).max() for p in (params, trained)]
    assert norms[0] > 0.7 and 0.6 - 1e-3 < norms[1] <= 0.6 + 1e-5  # the max-norm constraint


def test_dropout_rng_semantics():
    model = sj.transform(mlp)
    params = model.init(KEY, X)
    apply = jax.jit(model.apply, static_argnames="keep_prob")
    k1, k2 = jax.random.key(1), jax.random.key(2)
    a = apply(params, X, keep_prob=0.5, rng=k1)
    np.testing.assert_array_equal(a, apply(params, X, keep_prob=0.5, rng=k1))
    np.testing.assert_array_equal(a, model.apply(params, X, keep_prob=0.5, rng=k1))
    assert not np.allclose(a, apply(params, X, keep_prob=0.5, rng=k2))
    with pytest.raises(sj.NoRngError) as e:
        model.apply(params, X, keep_prob=0.5)
    assert str(e.value) == (
        "The model asked for a random key (scopejax.next_rng_key() in scope 'mlp/dropout') but "
        "this call got none. Pass one: model.apply(params, ..., rng=jax.random.key(0)) (or a "
        "key instead of None as init's first argument).")  # fmt: skip
    np.testing.assert_array_equal(model.apply(params, X), model.apply(params, X, rng=k1))


def test_dropout_under_scopejax_vmap_masks_each_example():
    model, per_example = sj.transform(mlp), sj.transform(mlp_per_example)
    params = model.init(KEY, X)
    assert_same_store(per_example.init(KEY, X), params)  # variables shared, not batched
    np.testing.assert_allclose(per_example.apply(params, X), model.apply(params, X),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    same_rows, apply = jnp.broadcast_to(X[:1], (16, 4)), jax.jit(per_example.apply)
    out = per_example.apply(params, same_rows, keep_prob=0.5, rng=jax.random.key(3))
    assert len(set(np.asarray(out)[:, 0].tolist())) > 8  # each example: its own dropout masks
    assert (apply(params, same_rows) == apply(params, same_rows)[0, 0]).all()  # no dropout


def deep_mlp(x, scanned=True, keep_prob=1.0):
    def layer(h):
        h = jax.nn.relu(dense(h, 16, "dense"))
        return dropout(h, keep_prob) if keep_prob < 1.0 else h

    with sj.variable_scope("deep"):
        h = jax.nn.relu(dense(x, 16, "input"))
        if scanned:
            h = sj.scan_layers(layer, h, 4)
        else:
            for i in range(4):
                with sj.variable_scope(f"layer_{i}"):
                    h = layer(h)
        return dense(h, 1, "out")


def test_scan_layers_mlp_has_tf1_layer_names_matches_unrolled_and_trains():
    scanned = sj.transform(deep_mlp)
    unrolled = sj.transform(functools.partial(deep_mlp, scanned=False))
    params = scanned.init(KEY, X)
    ends = (("deep/input/biases", "deep/input/weights"), ("deep/out/biases", "deep/out/weights"))
    stacked = ("deep/layer_*/dense/biases", "deep/layer_*/dense/weights")
    assert params.names() == (*ends[0], *stacked, *ends[1])
    assert (params.info(stacked[1]).shape, params.info(stacked[1]).stacked) == ((4, 16, 16), 4)
    layers = tuple(f"deep/layer_{i}/dense/{v}" for i in range(4) for v in ("biases", "weights"))
    assert params.unstack_layers().names() == (*ends[0], *layers, *ends[1])
    assert_same_store(params.unstack_layers(), unrolled.init(KEY, X))  # the Python loop's values

    def check_same_as_unrolled(p):
        rng = jax.random.key(4)
        for keep_prob in (1.0, 0.5):  # dropout inside the layers: each layer its own mask
            got = jax.jit(scanned.apply, static_argnames="keep_prob")(
                p, X, keep_prob=keep_prob, rng=rng)  # fmt: skip
            want = unrolled.apply(p.unstack_layers(), X, keep_prob=keep_prob, rng=rng)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    check_same_as_unrolled(params)

    def loss_fn(tr, rest, i):
        return mse(scanned.apply(tr.merge(rest), X), Y), rest

    trained, losses = fit(loss_fn, params, steps=40, lr=0.01)
    assert losses[-1] < 0.7 * losses[0]
    assert trained.names() == params.names()
    check_same_as_unrolled(trained)


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [(lambda i, t: char_lm(i, t)[0], (INPUTS, TARGETS), {}), (convnet, (IMAGES,), {}),
     (mlp, (X,), {"keep_prob": 0.8})],
    ids=["char_lstm", "batchnorm_convnet", "dropout_mlp"],
)  # fmt: skip
def test_ensemble_init_with_jax_vmap_over_keys(fn, args, kwargs):
    """``jax.vmap(model.init)`` over 3 keys: member ``i`` is ``init(keys[i])``, applied alike."""
    model, keys = sj.transform(fn), jax.random.split(KEY, 3)
    ensemble = jax.jit(jax.vmap(lambda k: model.init(k, *args, **kwargs)))(keys)
    outs = jax.jit(jax.vmap(lambda p: model.apply(p, *args)))(ensemble)
    for i in range(3):
        member = jax.tree.map(lambda a, i=i: a[i], ensemble)
        assert_same_store(member, model.init(keys[i], *args, **kwargs))
        np.testing.assert_allclose(outs[i], model.apply(member, *args), rtol=1e-5, atol=1e-6)
    assert not np.allclose(outs[0], outs[1])
