"""Orbax checkpoints of ParamStores: round trips, resharding, training loops, errors, crashes."""

import dataclasses
import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax.sharding import Mesh

import scopejax as sj
from scopejax import checkpoint as ck

KEY = jax.random.key(0)
DEVICES = np.array(jax.devices())
MESH = Mesh(DEVICES, ("x",))
MESH_2D = Mesh(DEVICES.reshape(2, 4), ("data", "model"))
MESH_4 = Mesh(DEVICES[:4], ("x",))
V, D = 50, 4  # 50 rows: padded to 56 over 8 shards, to 52 over 4
IDS = jnp.arange(16) % V
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _lm(ids, shards=8):
    with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(shards)):
        emb = sj.get_variable("embedding", [V, D], regularizer=sj.l2_regularizer(0.01))
        w = sj.get_variable("softmax_w", [D, V],
                            partitioner=sj.fixed_size_partitioner(shards, axis=1))  # fmt: skip
        b = sj.get_variable("softmax_b", [V], initializer=sj.zeros_initializer())
    dense = sj.get_variable("dense", [D, D], constraint=lambda x: jnp.clip(x, -1.0, 1.0))
    steps = sj.get_variable("global_step", [], jnp.int32, sj.zeros_initializer(),
                            trainable=False, collections=["variables", "counters"])  # fmt: skip
    logits = jnp.tanh(emb[ids] @ dense) @ w + b[None, :]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, ids).mean()
    return loss + 0.0 * steps + sj.get_regularization_loss()


@functools.cache
def _model(shards=8, mesh=MESH):
    return sj.transform(lambda ids: _lm(ids, shards), mesh=mesh)


def _stored(store, name):
    return jax.tree.leaves(store.filter(predicate=lambda n, _: n == name))[0]


def _snapshot(root):
    """Every path under ``root`` with its size and mtime: "nothing changed on disk"."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            s = os.stat(p)
            out[p] = (s.st_size, s.st_mtime_ns)
    return out


def _assert_same_values(a, b):
    assert a.names() == b.names()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture(scope="module")
def params():
    return _model().init(KEY, IDS)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, params):
    path = tmp_path_factory.mktemp("ckpt")
    ck.save(path, params, step=7)
    return path


# ------------------------------------------------------------------------------- round trips


def test_round_trip_keeps_values_shardings_and_metadata(saved, params):
    target = _model().init_abstract(jax.random.key(1), IDS)
    restored = ck.restore(saved, target)
    _assert_same_values(restored, params)
    assert restored.infos() == params.infos()
    assert jax.tree.structure(restored) == jax.tree.structure(params)
    for name in params:
        got, want = _stored(restored, name), _stored(params, name)
        assert got.shape == want.shape and got.sharding.is_equivalent_to(want.sharding, got.ndim)
    # Callables come from the target: the constraint and regulariser still work.
    assert restored.info("dense").constraint is target.info("dense").constraint
    assert restored.info("lm/embedding").regularizer is not None
    assert ck.latest_step(saved) == 7


def test_saved_metadata_is_the_logical_varinfo(saved, params):
    infos = ck.read_infos(saved)
    for name, info in params.infos().items():
        assert infos[name] == dataclasses.replace(info, physical_shape=None), name
    emb = infos["lm/embedding"]
    assert emb.shape == (V, D) and emb.partition.num_parts == 8 and emb.physical_shape is None
    assert infos["global_step"].collections == ("variables", "counters")
    assert not infos["global_step"].trainable
    with ck.CheckpointManager(saved, create=False) as mngr:
        meta = mngr.read_metadata(7)["variables"]
    assert meta["lm/embedding"]["has_regularizer"] and meta["dense"]["has_constraint"]
    assert meta["lm/embedding"]["physical_shape"] == [56, D]


def test_partition_specs_and_stacked_layers_survive_in_the_metadata(tmp_path):
    rules = {"vocab": "model", "embed": None}

    def f(x):
        with sj.variable_scope("m", partitioner=sj.logical_partitioner(("vocab", "embed"),
                                                                      rules)):  # fmt: skip
            emb = sj.get_variable("embedding", [50, 4])

        def layer(h):
            return jnp.tanh(h @ sj.get_variable("w", [4, 4]))

        return sj.scan_layers(layer, x @ emb[:4], 3)

    store = sj.transform(f, mesh=MESH_2D).init(KEY, jnp.ones((2, 4)))
    assert store.info("m/embedding").partition.spec is not None
    assert any(info.stacked == 3 for info in store.infos().values())
    ck.save(tmp_path, store, step=0)
    for name, info in store.infos().items():
        assert ck.read_infos(tmp_path)[name] == dataclasses.replace(info, physical_shape=None)
    _assert_same_values(ck.restore(tmp_path, store), store)
    with pytest.raises(ck.CheckpointError, match=r"max_to_keep must be a positive int"):
        ck.CheckpointManager(tmp_path, max_to_keep=0)


def test_restore_without_target_gives_whole_logical_arrays(saved, params):
    restored = ck.restore(saved)
    _assert_same_values(restored, params)
    assert _stored(restored, "lm/embedding").shape == (V, D)
    assert restored.info("lm/embedding").partition == params.info("lm/embedding").partition


@pytest.mark.parametrize("shards,mesh", [(4, MESH_4), (4, MESH_2D), (8, MESH_2D), (2, MESH),
                                         (1, None)])  # fmt: skip
def test_restore_reshards_to_another_mesh_and_partition_count(saved, params, shards, mesh):
    target = _model(shards, mesh).init_abstract(KEY, IDS)
    restored = ck.restore(saved, target)
    _assert_same_values(restored, params)
    emb = _stored(restored, "lm/embedding")
    want = _stored(target, "lm/embedding")
    assert emb.shape == want.shape
    if mesh is not None:
        assert emb.sharding.is_equivalent_to(want.sharding, 2)
        np.testing.assert_array_equal(emb[V:], 0.0)  # the target's padding is zero
        # Each device holds only its own shard, never the whole variable.
        assert all(s.data.shape[0] == want.shape[0] // shards for s in emb.addressable_shards)


def test_unpadded_checkpoint_restores_into_a_padded_layout(tmp_path):
    plain = _model(1).init(KEY, IDS)  # one part: replicated, other initial values than 8 parts
    ck.save(tmp_path, plain, step=0)
    restored = ck.restore(tmp_path, _model().init_abstract(KEY, IDS))
    _assert_same_values(restored, plain)
    assert _stored(restored, "lm/embedding").shape == (56, D)


def test_padding_is_saved_as_zero_and_never_restored(tmp_path, params):
    dirty = jax.tree.map(lambda x: x + 1, params)  # tree.map also touches the padding rows
    assert float(_stored(dirty, "lm/embedding")[V:].sum()) != 0.0
    ck.save(tmp_path, dirty, step=0)
    for shards, mesh in ((8, MESH), (4, MESH_4)):
        restored = ck.restore(tmp_path, _model(shards, mesh).init_abstract(KEY, IDS))
        _assert_same_values(restored, dirty)
        np.testing.assert_array_equal(_stored(restored, "lm/embedding")[V:], 0.0)


_NAMES = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,5}(/[a-z][a-z0-9_.\-]{0,5}){0,2}",
                                fullmatch=True), min_size=1, max_size=5, unique=True)
_DTYPES = st.sampled_from([jnp.float32, jnp.bfloat16, jnp.float16, jnp.int32, jnp.int8,
                           jnp.uint8, jnp.bool_, jnp.complex64])  # fmt: skip


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=_NAMES, data=st.data())
def test_round_trip_property(tmp_path_factory, names, data):
    values, infos = {}, {}
    for i, name in enumerate(names):
        shape = tuple(data.draw(st.lists(st.integers(0, 4), max_size=3), label="shape"))
        dtype = data.draw(_DTYPES, label="dtype")
        rng = np.random.default_rng(i)
        raw = rng.normal(size=shape) * 50 + 1j * rng.normal(size=shape)
        values[name] = jnp.asarray(raw if dtype == jnp.complex64 else raw.real).astype(dtype)
        infos[name] = sj.VarInfo(shape, dtype, trainable=data.draw(st.booleans()),
                                 collections=("variables", f"c{i}"))  # fmt: skip
    store = sj.ParamStore.from_flat_dict(values, infos)
    path = tmp_path_factory.mktemp("prop")
    ck.save(path, store, step=1)
    restored = ck.restore(path, store)
    assert restored.infos() == store.infos()
    for name in store:
        np.testing.assert_array_equal(np.asarray(restored[name]), np.asarray(store[name]))
    assert ck.read_infos(path) == store.infos()


# ------------------------------------------------------------------------------ training loop


OPT = optax.adam(1e-2)


@functools.partial(jax.jit, static_argnums=0)
def _step(model, tr, rest, s):
    loss, g = jax.value_and_grad(lambda t: model.apply(t.merge(rest), IDS))(tr)
    u, s = OPT.update(g, s, tr)
    return optax.apply_updates(tr, u).apply_constraints(), s, loss


def _train_steps(model, params, state, n):
    """``n`` jitted adam steps on the trainable variables (``global_step`` is an int)."""
    trainable, rest = params.split()
    losses = []
    for _ in range(n):
        trainable, state, loss = _step(model, trainable, rest, state)
        losses.append(float(loss))
    return trainable.merge(rest), state, losses


def _opt_init(store):
    return OPT.init(store.split()[0])


def test_training_loop_keeps_last_n_and_resumes_exactly(tmp_path, params):
    model = _model()
    p, s = params, _opt_init(params)
    with ck.CheckpointManager(tmp_path, max_to_keep=2) as mngr:
        for step in range(1, 4):
            p, s, _ = _train_steps(model, p, s, 1)
            mngr.save(step, p, extra={"opt_state": s})
        assert mngr.all_steps() == (2, 3) and mngr.latest_step() == 3
    uninterrupted, _, tail = _train_steps(model, p, s, 2)

    # A fresh process would do this: restore the latest step into the abstract store.
    target = model.init_abstract(KEY, IDS)
    extra_target = {"opt_state": jax.eval_shape(_opt_init, target)}
    with ck.CheckpointManager(tmp_path, max_to_keep=2) as mngr:
        restored = mngr.restore(target=target, extra_target=extra_target)
    assert restored.step == 3
    _assert_same_values(restored.params, p)
    opt_state = restored.extra["opt_state"]
    assert jax.tree.structure(opt_state) == jax.tree.structure(s)
    mu = _stored(opt_state[0].mu, "lm/embedding")
    assert mu.sharding.is_equivalent_to(_stored(p, "lm/embedding").sharding, 2)
    resumed, _, tail2 = _train_steps(model, restored.params, opt_state, 2)
    assert tail2 == tail
    _assert_same_values(resumed, uninterrupted)


def test_optimizer_state_reshards_with_the_params(tmp_path, params):
    _, state, _ = _train_steps(_model(), params, _opt_init(params), 1)
    ck.save(tmp_path, params, step=0, extra={"opt_state": state})
    target = _model(4, MESH_4).init_abstract(KEY, IDS)
    extra_target = {"opt_state": jax.eval_shape(_opt_init, target)}
    with ck.CheckpointManager(tmp_path, create=False) as mngr:
        got = mngr.restore(target=target, extra_target=extra_target).extra
    for name in state[0].nu:
        np.testing.assert_array_equal(got["opt_state"][0].nu[name], state[0].nu[name])
    assert _stored(got["opt_state"][0].nu, "lm/embedding").shape == (52, D)
    assert int(got["opt_state"][0].count) == 1


def test_async_save_commits_after_wait(tmp_path, params):
    with ck.CheckpointManager(tmp_path, async_save=True) as mngr:
        mngr.save(0, params)
        mngr.wait_until_finished()
        assert mngr.all_steps() == (0,)
    _assert_same_values(ck.restore(tmp_path, params), params)


# -------------------------------------------------------------------------------- bad input


def test_missing_directory_and_step(tmp_path, saved):
    missing = tmp_path / "nope"
    with pytest.raises(ck.CheckpointNotFoundError, match=r"No checkpoint directory at .*nope"):
        ck.restore(missing)
    with pytest.raises(ValueError, match=r"No checkpoint directory"):
        ck.latest_step(missing)
    assert not missing.exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ck.CheckpointNotFoundError, match=r"holds no committed step"):
        ck.restore(tmp_path / "empty")
    before = _snapshot(saved)
    with pytest.raises(ck.CheckpointNotFoundError, match=r"No step 3 in .*; its steps are \[7\]"):
        ck.restore(saved, step=3)
    assert _snapshot(saved) == before


def test_a_checkpoint_of_another_model_lists_every_difference(saved):
    def other(ids):
        with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(8)):
            sj.get_variable("embedding", [V + 1, D])
            sj.get_variable("softmax_b", [V], jnp.int32, sj.zeros_initializer())
        return sj.get_variable("extra/w", [2]).sum() + sj.get_variable("dense", [D, D]).sum()

    target = sj.transform(other, mesh=MESH).init_abstract(KEY, IDS)
    before = _snapshot(saved)
    with pytest.raises(ck.CheckpointMismatchError) as info:
        ck.restore(saved, target)
    message = str(info.value)
    assert "a checkpoint of another model?" in message
    assert "missing from the checkpoint: 'extra/w'" in message
    assert "unexpected (in the checkpoint, not in the target): 'global_step', 'lm/softmax_w'" \
        in message
    assert "'lm/embedding': the checkpoint has shape=(50, 4), the target expects shape=(51, 4)" \
        in message
    assert "'lm/softmax_b': the checkpoint has dtype=float32, the target expects dtype=int32" \
        in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, sj.ScopeJaxError)
    assert _snapshot(saved) == before


def test_extra_target_without_saved_extra_and_mismatched_extra(saved, tmp_path, params):
    with pytest.raises(ck.CheckpointMismatchError, match=r"saved without extra="):
        with ck.CheckpointManager(saved, create=False) as mngr:
            mngr.restore(target=params, extra_target={"opt_state": jnp.zeros(())})
    ck.save(tmp_path, params, step=0, extra={"ema": jnp.zeros(3), "count": jnp.zeros((), int)})
    with pytest.raises(ck.CheckpointMismatchError, match=r"missing from the checkpoint: "
                       r"\"\['mu'\]\".*\n.*unexpected.*\"\['ema'\]\""):  # fmt: skip
        with ck.CheckpointManager(tmp_path, create=False) as mngr:
            mngr.restore(target=params, extra_target={"mu": jnp.zeros(3),
                                                      "count": jnp.zeros((), int)})


def test_bad_save_arguments_write_nothing(tmp_path, params, saved):
    fresh = tmp_path / "fresh"
    abstract = _model().init_abstract(KEY, IDS)
    cases = [
        (params.to_flat_dict(), 0, None, TypeError, r"expected a scopejax.ParamStore, got dict"),
        (params, -1, None, ck.CheckpointError, r"step must be a non-negative int, got -1"),
        (params, True, None, ck.CheckpointError, r"step must be a non-negative int"),
        (abstract, 0, None, ck.CheckpointError,
         r"'dense' is a ShapeDtypeStruct, not a concrete jax.Array"),
        (params, 0, {"lr": "fast"}, ck.CheckpointError,
         r"extra: leaf \['lr'\] is a str, not an array"),
    ]
    for store, step, extra, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            ck.save(fresh, store, step=step, extra=extra)
        assert not fresh.exists()
    before = _snapshot(saved)
    with pytest.raises(ck.CheckpointError, match=r"step 7 already exists in .*never overwritten"):
        ck.save(saved, params, step=7)
    assert _snapshot(saved) == before


# ------------------------------------------------------------------------------- corruption


def _data_files(step_dir, item="params"):
    return [os.path.join(d, f) for d, _, fs in os.walk(step_dir / item) for f in fs
            if os.path.basename(d) == "d"]


# After tensorstore fails to read a truncated file, orbax may close its asyncio loop while other
# reads are in flight; tensorstore's late callback then hits the closed loop and Python reports
# it as "Exception ignored" (seen once in CI, under load). Our CheckpointCorruptError is still
# raised and asserted below; only that unraisable report from orbax's internals is let through.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", ["truncate", "flip", "metadata", "drop_item"])
def test_corrupted_checkpoints_are_reported_and_earlier_steps_still_restore(tmp_path, params,
                                                                            damage):
    with ck.CheckpointManager(tmp_path) as mngr:
        mngr.save(1, params)
        mngr.save(2, jax.tree.map(lambda x: x * 2, params))
    step_dir = tmp_path / "2"
    if damage == "truncate":
        for f in _data_files(step_dir):
            os.truncate(f, os.path.getsize(f) // 2)
    elif damage == "flip":
        for f in _data_files(step_dir):
            with open(f, "rb") as fh:
                raw = bytearray(fh.read())
            for i in range(len(raw) // 3, len(raw), max(1, len(raw) // 7)):
                raw[i] ^= 0x5A
            with open(f, "wb") as fh:
                fh.write(bytes(raw))
    elif damage == "metadata":
        (step_dir / "scopejax" / "metadata").write_text('{"format": "scopejax", "varia')
    else:
        import shutil

        shutil.rmtree(step_dir / "scopejax")
    pattern = {"truncate": r"truncated or corrupted|checksum mismatch",
               "flip": r"truncated or corrupted|checksum mismatch",
               "metadata": r"its metadata cannot be read",
               "drop_item": r"has no 'scopejax' metadata item"}[damage]  # fmt: skip
    with pytest.raises(ck.CheckpointCorruptError, match=pattern):
        ck.restore(tmp_path, params)
    _assert_same_values(ck.restore(tmp_path, params, step=1), params)


def test_checksums_catch_silently_changed_values(tmp_path, params):
    ck.save(tmp_path, params, step=0)
    meta_file = tmp_path / "0" / "scopejax" / "metadata"
    text = meta_file.read_text()
    import json

    meta = json.loads(text)
    meta["variables"]["dense"]["checksum"] ^= 1
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ck.CheckpointCorruptError,
                       match=r"data of 1 array\(s\) differ from what was saved \(checksum "
                       r"mismatch\): 'dense'"):  # fmt: skip
        ck.restore(tmp_path, params)
    ck.restore(tmp_path, params, verify=False)  # the caller may opt out


_CRASH = """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
import jax.numpy as jnp, scopejax as sj
from scopejax import checkpoint as ck
small = sj.ParamStore.from_flat_dict({"w": jnp.arange(4.0)})
big = sj.ParamStore.from_flat_dict({f"w{i}": jnp.full((2 << 20,), float(i)) for i in range(8)})
mngr = ck.CheckpointManager(sys.argv[1])
mngr.save(1, small)
print("saved 1", flush=True)
mngr.save(2, big)
print("saved 2", flush=True)
"""


def test_a_crash_during_save_leaves_the_previous_checkpoint_restorable(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_CRASH), str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        assert child.stdout.readline().decode().strip() == "saved 1"
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("2.") for p in tmp_path.iterdir()):
            assert child.poll() is None, "the saving process ended before its step 2 began"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)  # mid-save: the step-2 temporary directory exists
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("2")]
    assert leftovers and "2" not in leftovers  # killed before the commit (rename)
    assert ck.latest_step(tmp_path) == 1
    store = sj.ParamStore.from_flat_dict({"w": jnp.zeros(4)})
    np.testing.assert_array_equal(ck.restore(tmp_path, store)["w"], np.arange(4.0))
    # Training resumes: step 2 can be saved again over the debris.
    with ck.CheckpointManager(tmp_path) as mngr:
        mngr.save(2, store)
        assert mngr.all_steps() == (1, 2)


def test_public_namespace():
    for name in ck.__all__:
        assert getattr(ck, name).__module__ == "scopejax.checkpoint", name
    assert issubclass(ck.CheckpointMismatchError, ck.CheckpointError)
    assert issubclass(ck.CheckpointError, sj.ScopeJaxError)
    assert issubclass(ck.CheckpointError, ValueError)
