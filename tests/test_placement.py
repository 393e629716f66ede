"""Partitioned variables placed on a mesh: NamedShardings, padding, training, errors (8 devices)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

import scopejax as sj

KEY = jax.random.key(0)
DEVICES = np.array(jax.devices())
MESH = Mesh(DEVICES, ("x",))  # Auto axes
MESH_2D = Mesh(DEVICES.reshape(2, 4), ("data", "model"))
V, D = 50, 4  # 50 rows over 8 shards: padded to 56


def _lm(ids, shards=8):
    with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(shards)):
        emb = sj.get_variable("embedding", [V, D])
        w = sj.get_variable("softmax_w", [D, V],
                            partitioner=sj.fixed_size_partitioner(shards, axis=1))  # fmt: skip
        b = sj.get_variable("softmax_b", [V], initializer=sj.zeros_initializer())
    dense = sj.get_variable("dense", [D, D])  # not partitioned
    logits = jnp.tanh(emb[ids] @ dense) @ w + b[None, :]
    return optax.softmax_cross_entropy_with_integer_labels(logits, ids).mean()


IDS = jnp.arange(16) % V


def _leaf(store, name):
    return jax.tree.leaves(store.filter(predicate=lambda n, _: n == name))[0]


def test_partitioned_variables_are_created_sharded_and_padded():
    params = sj.transform(_lm, mesh=MESH).init(KEY, IDS)
    emb = _leaf(params, "lm/embedding")
    assert emb.shape == (56, D) and emb.sharding.spec == PartitionSpec("x")
    assert params.info("lm/embedding").physical_shape == (56, D)
    assert params["lm/embedding"].shape == (V, D)  # the logical view
    assert _leaf(params, "lm/softmax_w").sharding.spec == PartitionSpec(None, "x")
    assert params.info("dense").physical_shape is None
    np.testing.assert_array_equal(emb[V:], 0.0)
    assert {n: v.shape for n, v in params.to_flat_dict().items()}["lm/embedding"] == (V, D)
    assert "'lm/embedding': float32[50,4]" in repr(params)
    # No device holds a whole partitioned variable.
    assert {s.data.shape for s in emb.addressable_shards} == {(7, D)}


def test_sharded_values_equal_unsharded_ones_bitwise():
    sharded = sj.transform(_lm, mesh=MESH).init(KEY, IDS)
    plain = sj.transform(_lm).init(KEY, IDS)
    for name in plain:
        np.testing.assert_array_equal(sharded[name], plain[name])
    assert plain.info("lm/embedding").physical_shape is None


def test_training_keeps_padding_zero_and_matches_the_unsharded_model():
    model, plain = sj.transform(_lm, mesh=MESH), sj.transform(_lm)
    opt = optax.adam(1e-2)

    def train(m, params):
        state = opt.init(params)

        @jax.jit
        def step(p, s):
            loss, g = jax.value_and_grad(m.apply)(p, IDS)
            u, s = opt.update(g, s, p)
            return optax.apply_updates(p, u), s, loss

        losses = []
        for _ in range(5):
            params, state, loss = step(params, state)
            losses.append(float(loss))
        return params, losses

    sharded, l1 = train(model, model.init(KEY, IDS))
    _, l2 = train(plain, plain.init(KEY, IDS))
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    assert l1[-1] < l1[0]
    np.testing.assert_array_equal(_leaf(sharded, "lm/embedding")[V:], 0.0)
    np.testing.assert_array_equal(_leaf(sharded, "lm/softmax_w")[:, V:], 0.0)
    assert _leaf(sharded, "lm/embedding").sharding.spec == PartitionSpec("x")


def test_counts_use_runs_of_mesh_axes_or_a_reshaped_mesh():
    p8 = sj.transform(_lm, mesh=MESH_2D).init(KEY, IDS)
    assert _leaf(p8, "lm/embedding").sharding.spec == PartitionSpec(("data", "model"))
    p4 = sj.transform(lambda ids: _lm(ids, 4), mesh=MESH_2D).init(KEY, IDS)
    assert _leaf(p4, "lm/embedding").sharding.spec == PartitionSpec("model")
    p2 = sj.transform(lambda ids: _lm(ids, 2), mesh=MESH).init(KEY, IDS)
    sharding = _leaf(p2, "lm/embedding").sharding
    assert sharding.spec == PartitionSpec("parts") and sharding.mesh.shape == {"parts": 2,
                                                                               "replicas": 4}
    # Stores on differently shaped meshes over the same devices mix in one jitted call.
    assert jnp.isfinite(jax.jit(sj.transform(_lm).apply)(p2, IDS))


def test_a_count_the_mesh_cannot_hold_is_an_error():
    with pytest.raises(ValueError, match=r"Variable lm/embedding is partitioned into 3 shards, "
                       r"but the mesh \(x=8; 8 devices\) has no run of axes of that size and 3 "
                       r"does not divide the device count"):  # fmt: skip
        sj.transform(lambda ids: _lm(ids, 3), mesh=MESH).init(KEY, IDS)


def test_active_mesh_is_used_and_no_mesh_means_logical_only():
    with jax.set_mesh(MESH):
        params = sj.transform(_lm).init(KEY, IDS)
    assert _leaf(params, "lm/embedding").sharding.spec == PartitionSpec("x")
    plain = sj.transform(_lm).init(KEY, IDS)
    assert not isinstance(_leaf(plain, "lm/embedding").sharding, NamedSharding)
    with pytest.raises(TypeError, match=r"mesh must be a jax.sharding.Mesh"):
        sj.transform(_lm, mesh="x").init(KEY, IDS)


def test_explicit_meshes_work_when_even_and_refuse_padding():
    explicit = Mesh(DEVICES, ("x",), axis_types=(AxisType.Explicit,))

    def even(ids):
        with sj.variable_scope("e", partitioner=sj.fixed_size_partitioner(8)):
            return sj.get_variable("v", [16, 2]).sum()

    params = sj.transform(even, mesh=explicit).init(KEY, IDS)
    assert tuple(_leaf(params, "e/v").sharding.spec)[:1] == ("x",)
    with pytest.raises(ValueError, match="under a mesh with Explicit axes"):
        sj.transform(_lm, mesh=explicit).init(KEY, IDS)


def test_padded_variables_through_replace_assign_and_constraints():
    def f():
        with sj.variable_scope("s", partitioner=sj.fixed_size_partitioner(8)):
            v = sj.get_variable("v", [10], initializer=sj.ones_initializer(), trainable=False,
                                constraint=lambda x: jnp.minimum(x, 2.0))  # fmt: skip
        sj.assign(v, v * 3.0)
        return v

    model = sj.transform(f, mesh=MESH)
    params = model.init(None)
    _, new = model.apply(params, mutable=True)
    np.testing.assert_array_equal(new["s/v"], 3.0 * np.ones(10))
    assert _leaf(new, "s/v").shape == (16,)
    np.testing.assert_array_equal(new.apply_constraints()["s/v"], 2.0 * np.ones(10))
    np.testing.assert_array_equal(_leaf(new.apply_constraints(), "s/v")[10:], 0.0)
    replaced = params.replace({"s/v": jnp.full(10, 5.0)})
    np.testing.assert_array_equal(_leaf(replaced, "s/v"), [5.0] * 10 + [0.0] * 6)


def test_init_abstract_gives_stored_shapes_and_shardings_without_computing():
    model = sj.transform(_lm, mesh=MESH)
    abstract = model.init_abstract(KEY, IDS)
    params = model.init(KEY, IDS)
    assert abstract.infos() == params.infos()
    for name in params:
        want = _leaf(params, name)
        got = _leaf(abstract, name)
        assert isinstance(got, jax.ShapeDtypeStruct)
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        assert got.sharding.is_equivalent_to(want.sharding, len(want.shape)), name
    assert _leaf(params, "dense").sharding.spec == PartitionSpec()  # unpartitioned: replicated
    plain = sj.transform(_lm).init_abstract(KEY, IDS)
    assert _leaf(plain, "lm/embedding").shape == (V, D)


def test_partition_spec_and_logical_partitioners():
    rules = {"vocab": "model", "embed": None, "hidden": "data"}

    def f():
        with sj.variable_scope("m", partitioner=sj.logical_partitioner(("vocab", "embed"), rules)):
            emb = sj.get_variable("embedding", [50, 4])
        w = sj.get_variable("w", [4, 6],
                            partitioner=lambda shape, dtype: PartitionSpec(None, "data"))
        return emb.sum() + w.sum()

    model = sj.transform(f, mesh=MESH_2D)
    params = model.init(KEY)
    emb = params.info("m/embedding")
    assert emb.partition.num_parts == 4 and emb.physical_shape == (52, 4)  # 4 model shards
    assert emb.partition.part_names("m/embedding")[-1] == "m/embedding/part_3"
    assert tuple(_leaf(params, "m/embedding").sharding.spec)[:1] == ("model",)
    assert tuple(_leaf(params, "w").sharding.spec) == (None, "data")
    assert params.info("w").partition.partitions == (1, 2)
    assert jnp.isfinite(jax.jit(model.apply)(params))  # apply recomputes the counts from params
    with pytest.raises(ValueError, match=r"needs a mesh to count shards"):
        sj.transform(f).init(KEY)
    with pytest.raises(ValueError, match=r"no rule for logical axes \['embed'\]"):
        sj.logical_partitioner(("vocab", "embed"), {"vocab": "x"})((50, 4))
    with pytest.raises(ValueError, match=r"shards 2 dimensions; TF1 partitioning"):
        sj.transform(lambda: sj.get_variable("x", [8, 8], partitioner=lambda shape, dtype:
                     PartitionSpec("data", "model")), mesh=MESH_2D).init(KEY)  # fmt: skip


def test_counts_on_different_reshaped_meshes_mix_in_one_init():
    # 2 and 4 parts on an 8-device 1-D mesh live on (2, 4) and (4, 2) views of it; a replicated
    # variable sorts first. JAX used to name all outputs on the first one's mesh and fail.
    def fn():
        sj.get_variable("a", [2])
        sj.get_variable("w2", [8, 3], partitioner=sj.fixed_size_partitioner(2))
        sj.get_variable("w4", [10, 3], partitioner=sj.fixed_size_partitioner(4))

    model = sj.transform(fn, mesh=MESH)
    params = model.init(KEY)
    assert _leaf(params, "a").sharding.spec == PartitionSpec()
    assert _leaf(params, "w2").sharding.mesh.shape == {"parts": 2, "replicas": 4}
    assert _leaf(params, "w4").sharding.mesh.shape == {"parts": 4, "replicas": 2}
    assert _leaf(params, "w4").shape == (12, 3)  # padded: 10 rows over 4 parts
    plain = sj.transform(fn).init(KEY)
    for name in params:
        np.testing.assert_array_equal(params[name], plain[name], err_msg=name)
    abstract = model.init_abstract(KEY)
    for name in params:
        assert _leaf(abstract, name).sharding.is_equivalent_to(_leaf(params, name).sharding, 2)


def test_init_abstract_keeps_python_arguments_static_like_init():
    def fn(ids, width=3):
        return sj.get_variable("w", [ids.shape[-1], width])

    model = sj.transform(fn)
    assert model.init_abstract(KEY, IDS, 5).info("w").shape == (16, 5)
    assert model.init_abstract(KEY, jax.ShapeDtypeStruct((4,), jnp.int32), width=7)[
        "w"].shape == (4, 7)  # fmt: skip
    sharded = sj.transform(fn, mesh=MESH).init_abstract(KEY, IDS, 5)
    assert _leaf(sharded, "w").shape == (16, 5)


def test_abstract_stores_give_logical_views_of_padded_variables():
    abstract = sj.transform(_lm, mesh=MESH).init_abstract(KEY, IDS)
    view = abstract["lm/embedding"]
    assert isinstance(view, jax.ShapeDtypeStruct) and view.shape == (V, D)
    assert _leaf(abstract, "lm/embedding").shape == (56, D)  # the stored leaf stays padded
    assert dict(abstract.items())["lm/softmax_w"].shape == (D, V)
    assert abstract.to_flat_dict()["lm/embedding"].shape == (V, D)
