"""Flat safetensors export/import: TF names, logical shapes, metadata, targets and bad files."""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh
from safetensors.numpy import load_file, save_file

import scopejax as sj
from scopejax import checkpoint as ck

KEY = jax.random.key(0)
DEVICES = np.array(jax.devices())
MESH = Mesh(DEVICES, ("x",))
MESH_4 = Mesh(DEVICES[:4], ("x",))


def _model_fn(shards):
    def f():
        with sj.variable_scope("encoder", partitioner=sj.fixed_size_partitioner(shards)):
            emb = sj.get_variable("embedding", [50, 4])
        with sj.variable_scope("encoder/dense"):
            k = sj.get_variable("kernel", [4, 3], jnp.bfloat16)
            b = sj.get_variable("bias", [3], initializer=sj.zeros_initializer(),
                                regularizer=sj.l2_regularizer(0.1))  # fmt: skip
        step = sj.get_variable("global_step", [], jnp.int32, sj.zeros_initializer(),
                               trainable=False)  # fmt: skip
        return emb.sum() + k.astype(jnp.float32).sum() + b.sum() + step

    return f


@pytest.fixture(scope="module")
def params():
    return sj.transform(_model_fn(8), mesh=MESH).init(KEY)


def test_file_holds_logical_arrays_under_tf_names(tmp_path, params):
    path = tmp_path / "model.safetensors"
    ck.export_safetensors(path, params)
    plain = load_file(path)  # any safetensors reader sees plain TF names and logical shapes
    assert sorted(plain) == ["encoder/dense/bias", "encoder/dense/kernel", "encoder/embedding",
                             "global_step"]  # fmt: skip
    assert plain["encoder/embedding"].shape == (50, 4)
    np.testing.assert_array_equal(plain["encoder/embedding"], params["encoder/embedding"])
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temporary left


def test_round_trip_without_target_keeps_metadata(tmp_path, params):
    path = tmp_path / "m.safetensors"
    ck.export_safetensors(path, params)
    back = ck.import_safetensors(path)
    for name, info in params.infos().items():
        assert back.info(name) == dataclasses.replace(info, physical_shape=None), name
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(params[name]))
    assert back.info("encoder/dense/kernel").dtype == jnp.bfloat16


@pytest.mark.parametrize("shards,mesh", [(8, MESH), (4, MESH_4), (1, None)])
def test_import_into_a_target_places_and_pads(tmp_path, params, shards, mesh):
    path = tmp_path / "m.safetensors"
    ck.export_safetensors(path, params)
    target = sj.transform(_model_fn(shards), mesh=mesh).init_abstract(KEY)
    back = ck.import_safetensors(path, target)
    assert back.infos() == target.infos()
    for name in params:
        np.testing.assert_array_equal(np.asarray(back[name]), np.asarray(params[name]))
    emb = jax.tree.leaves(back.filter(predicate=lambda n, _: n == "encoder/embedding"))[0]
    assert emb.shape == target.info("encoder/embedding").stored_shape
    if mesh is not None:
        want = jax.tree.leaves(target.filter(predicate=lambda n, _: n == "encoder/embedding"))[0]
        assert emb.sharding.is_equivalent_to(want.sharding, 2)
        np.testing.assert_array_equal(emb[50:], 0.0)


def test_foreign_files_and_mismatches(tmp_path, params):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"encoder/embedding": np.ones((50, 4), np.float32)}, foreign)
    store = ck.import_safetensors(foreign)
    assert store.info("encoder/embedding") == sj.VarInfo((50, 4), jnp.float32)
    with pytest.raises(ck.CheckpointMismatchError) as info:
        ck.import_safetensors(foreign, params)
    message = str(info.value)
    assert "missing from the checkpoint: 'encoder/dense/bias', 'encoder/dense/kernel', " \
           "'global_step'" in message
    wrong = tmp_path / "wrong.safetensors"
    save_file({"encoder/embedding": np.ones((4, 50), np.float32)}, wrong)
    with pytest.raises(ck.CheckpointMismatchError, match=r"'encoder/embedding': the checkpoint "
                       r"has shape=\(4, 50\), the target expects shape=\(50, 4\)"):  # fmt: skip
        ck.import_safetensors(wrong, params.filter("encoder").filter(
            predicate=lambda n, _: n == "encoder/embedding"))


def test_bad_files_are_reported_and_a_failed_export_keeps_the_old_file(tmp_path, params):
    with pytest.raises(ck.CheckpointNotFoundError, match=r"no file at .*missing.safetensors"):
        ck.import_safetensors(tmp_path / "missing.safetensors")
    path = tmp_path / "m.safetensors"
    ck.export_safetensors(path, params)
    good = path.read_bytes()
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ck.CheckpointCorruptError, match=r"truncated or not a safetensors file"):
        ck.import_safetensors(truncated)
    with pytest.raises(TypeError, match=r"expected a scopejax.ParamStore, got dict"):
        ck.export_safetensors(path, {"w": jnp.ones(2)})
    abstract = sj.transform(_model_fn(8), mesh=MESH).init_abstract(KEY)
    with pytest.raises(ck.CheckpointError, match=r"is a ShapeDtypeStruct, not a concrete"):
        ck.export_safetensors(path, abstract)
    with pytest.raises(ck.CheckpointError, match=r"is a directory"):
        ck.export_safetensors(tmp_path, params)
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors", "t.safetensors"]
