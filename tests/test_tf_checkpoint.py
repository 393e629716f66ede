"""Loading TF checkpoints written by real TensorFlow into scopejax stores.

TF writes the checkpoints (``tf.compat.v1.train.Saver`` in graph mode, ``tf.train.Checkpoint`` for
TF2 names) from scope programs with partitioned, uneven and plain variables of every supported
dtype; scopejax loads them without TF and must agree bitwise with ``tf.train.load_variable``, keep
the target's shardings (no device ever gets a whole partitioned variable), and give the same
model outputs as TF. Skipped, with the reason, only when TensorFlow is not installed.
"""

from __future__ import annotations

import re
import shutil

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec

import scopejax as sj
from scopejax import tf_checkpoint as tfc

TF_REASON = "checkpoints are written by tf.compat.v1 here (pip install 'scopejax[tf]')"
# 4 x 2: every partition count used here (2, 4, 8) is a run of mesh axes.
MESH = Mesh(np.asarray(jax.devices()[:8]).reshape(4, 2), ("x", "y"))

# (name, shape, dtype, TF partitions): uneven 10 rows in 4 parts (3,3,2,2) and 7 in 3 (3,2,2).
SPECS = [
    ("plain/f32", (3, 5), "float32", 1),
    ("plain/f64", (4,), "float64", 1),
    ("plain/f16", (2, 3), "float16", 1),
    ("plain/bf16", (6,), "bfloat16", 1),
    ("plain/i8", (5,), "int8", 1),
    ("plain/i16", (5,), "int16", 1),
    ("plain/i64", (2, 2), "int64", 1),
    ("plain/u8", (7,), "uint8", 1),
    ("plain/flag", (4,), "bool", 1),
    ("plain/scalar", (), "float32", 1),
    ("part/even", (8, 3), "float32", 4),
    ("part/uneven", (10, 6), "float32", 4),
    ("part/bf16", (10, 2), "bfloat16", 4),
    ("part/i32", (7, 3), "int32", 2),
    ("part/cols", (3, 10), "float64", 2),  # split along axis 1
]


def values_for(name, shape, dtype):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)
    x = rng.standard_normal(shape).astype(np.float32) * 3
    flat = x.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, -0.0, 1e-40]  # 1e-40: a float32 subnormal
    flat[: len(specials)] = specials[: flat.size]
    return x.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def partitioner(tf1_or_sj, parts, shape):
    if parts == 1:
        return None
    axis = 1 if shape[0] < parts else 0
    return tf1_or_sj.fixed_size_partitioner(parts, axis=axis)


@pytest.fixture(autouse=True)
def x64():
    """float64 and int64 variables need JAX's 64-bit mode (restored after each test)."""
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason=TF_REASON)


def tf_save(tf, prefix, build, step=None, **saver_kwargs):
    """Runs ``build(tf1)`` in a new graph, saves it with a Saver; returns (path, build's output)."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    config = saver_kwargs.pop("config", None)
    with graph.as_default():
        out = build(tf1)
        tf1.train.get_or_create_global_step()
        saver = tf1.train.Saver(**saver_kwargs)
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            path = saver.save(sess, prefix, global_step=step)
            return path, (None if out is None else sess.run(out))


def build_specs(tf1):
    for name, shape, dtype, parts in SPECS:
        value = values_for(name, shape, dtype)
        tf1.get_variable(name, initializer=tf1.constant(value, dtype=dtype),
                         partitioner=partitioner(tf1, parts, shape))


def sj_specs(parts_of=lambda parts: parts):
    for name, shape, dtype, parts in SPECS:
        sj.get_variable(name, shape, dtype=dtype,
                        partitioner=partitioner(sj, parts_of(parts), shape))


@pytest.fixture(scope="module")
def specs_ckpt(tf, tmp_path_factory):
    return tf_save(tf, str(tmp_path_factory.mktemp("specs") / "model.ckpt"), build_specs, step=3)[0]


def stored(store, name):
    """The array a store holds for ``name`` (its physical, padded layout)."""
    return dict(zip(store.names(), jax.tree.leaves(store), strict=True))[name]


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ----------------------------------------------------------------------- listing and reading


def test_list_variables_matches_tf(tf, specs_ckpt):
    ours = tfc.list_variables(specs_ckpt)
    assert [(v.name, list(v.shape)) for v in ours] == tf.train.list_variables(specs_ckpt)
    dtypes = tf.train.load_checkpoint(specs_ckpt).get_variable_to_dtype_map()
    assert {v.name: v.dtype for v in ours} == {k: d.name for k, d in dtypes.items()}
    assert dict((n, d) for n, _, d in ours)["part/bf16"] == "bfloat16"  # unpacks as a 3-tuple


def test_every_tensor_reads_bitwise_equal_to_tf(tf, specs_ckpt):
    for name, shape, dtype, _ in SPECS:
        ours = tfc.load_variable(specs_ckpt, name)
        assert same_bits(ours, tf.train.load_variable(specs_ckpt, name)), name
        assert same_bits(ours, values_for(name, shape, dtype)), name


@pytest.mark.parametrize("mesh", [None, MESH], ids=["one_device", "mesh8"])
def test_load_into_init_abstract_bitwise_and_in_the_target_shardings(specs_ckpt, mesh):
    model = sj.transform(sj_specs, mesh=mesh)
    target = model.init_abstract(jax.random.key(0))
    params, report = tfc.load_checkpoint(specs_ckpt, target, strict=False)
    assert report.unused == ("global_step",) and report.missing == ()
    assert report.loaded == {name: name for name, *_ in SPECS}
    for name, shape, dtype, _ in SPECS:
        assert same_bits(params[name], values_for(name, shape, dtype)), name
        leaf, value = stored(target, name), stored(params, name)
        assert value.shape == params.info(name).stored_shape
        if mesh is not None:
            assert value.sharding == leaf.sharding, name


def test_uneven_partitioned_variable_lands_padded_and_sharded(specs_ckpt):
    """10 rows, saved by TF as 3,3,2,2; stored by scopejax as 12 rows, 3 per device pair."""
    model = sj.transform(sj_specs, mesh=MESH)
    params = tfc.load_checkpoint(specs_ckpt, model.init_abstract(jax.random.key(0)),
                                 assignment_map={"part/": "part/"}, strict=False)[0]
    info = params.info("part/uneven")
    assert info.shape == (10, 6) and info.physical_shape == (12, 6)
    array = stored(params, "part/uneven")
    assert array.sharding.spec == PartitionSpec("x")
    expected = values_for("part/uneven", (10, 6), "float32")
    padded = np.concatenate([expected, np.zeros((2, 6), np.float32)])
    assert len(array.addressable_shards) == 8
    for shard in array.addressable_shards:
        assert shard.data.shape == (3, 6)  # no device holds the whole variable
        assert same_bits(shard.data, padded[shard.index])
    # And the model sees the logical value; gradients of the padding stay zero.
    params = params.filter(predicate=lambda name, info: name == "part/uneven")
    grad = jax.grad(lambda p: jnp.sum(p["part/uneven"] ** 2))(params)
    assert grad["part/uneven"].shape == (10, 6)


@pytest.mark.parametrize("parts_of", [lambda p: 1, lambda p: 8 if p > 1 else 1, lambda p: 2 * p],
                         ids=["unpartitioned", "8_parts", "twice_as_many"])
def test_slices_are_reassembled_into_any_target_layout(specs_ckpt, parts_of):
    specs = [s for s in SPECS if s[3] > 1 and max(s[1]) >= parts_of(s[3])]
    model = sj.transform(lambda: [sj.get_variable(n, s, dtype=d, partitioner=partitioner(
        sj, parts_of(p), s)) for n, s, d, p in specs], mesh=MESH)
    params, _ = tfc.load_checkpoint(specs_ckpt, model.init_abstract(jax.random.key(0)),
                                    strict=False)
    for name, shape, dtype, _ in specs:
        assert same_bits(params[name], values_for(name, shape, dtype)), name


def test_load_into_a_concrete_store_keeps_its_shardings_and_unloaded_values(specs_ckpt):
    model = sj.transform(lambda: (sj_specs(), sj.get_variable("extra", [2]))[1], mesh=MESH)
    target = model.init(jax.random.key(1))
    params, report = tfc.load_checkpoint(specs_ckpt, target, strict=False)
    assert report.missing == ("extra",)
    assert same_bits(params["extra"], target["extra"])
    assert [a.sharding for a in jax.tree.leaves(params)] == [
        a.sharding for a in jax.tree.leaves(target)]


# --------------------------------------------------------------- a model, run by TF and by us


def tf_model(tf1, x, ids):
    with tf1.variable_scope("model"):
        with tf1.variable_scope("embed", partitioner=tf1.fixed_size_partitioner(4)):
            table = tf1.get_variable("table", [10, 6])
        h = tf1.gather(tf1.convert_to_tensor(table), ids)
        with tf1.variable_scope("encoder", partitioner=tf1.fixed_size_partitioner(2)) as enc:
            w = tf1.get_variable("dense/kernel", [6, 5])
            b = tf1.get_variable("dense/bias", [5], initializer=tf1.random_normal_initializer())
        h = tf1.nn.relu(tf1.matmul(h, w) + b)
        with tf1.variable_scope(enc, reuse=True):
            w_tied = tf1.get_variable("dense/kernel", [6, 5])
        out = tf1.matmul(h, tf1.transpose(tf1.convert_to_tensor(w_tied)))
        scale = tf1.get_variable("scale", [], dtype="float64", initializer=tf1.ones_initializer())
        return out, tf1.cast(scale, "float32") * tf1.reduce_sum(x)


def sj_model(x, ids):
    with sj.variable_scope("model"):
        with sj.variable_scope("embed", partitioner=sj.fixed_size_partitioner(4)):
            table = sj.get_variable("table", [10, 6])
        h = table[ids]
        with sj.variable_scope("encoder", partitioner=sj.fixed_size_partitioner(2)) as enc:
            w = sj.get_variable("dense/kernel", [6, 5])
            b = sj.get_variable("dense/bias", [5])
        h = jax.nn.relu(h @ w + b[None, :])
        with sj.variable_scope(enc, reuse=True):
            w_tied = sj.get_variable("dense/kernel", [6, 5])
        out = h @ w_tied.T
        scale = sj.get_variable("scale", [], dtype=jnp.float64)
        return out, scale.astype(jnp.float32) * jnp.sum(x)


@pytest.fixture(scope="module")
def model_ckpt(tf, tmp_path_factory):
    x, ids = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), np.array([0, 9, 4, 7])
    path, outputs = tf_save(tf, str(tmp_path_factory.mktemp("model") / "model.ckpt"),
                            lambda tf1: tf_model(tf1, tf1.constant(x), tf1.constant(ids)), step=10)
    return path, (x, ids), outputs


def test_loaded_model_gives_tf_outputs(model_ckpt):
    path, args, (tf_out, tf_sum) = model_ckpt
    model = sj.transform(sj_model, mesh=MESH)
    params = tfc.load_checkpoint(path, model.init_abstract(jax.random.key(0), *args),
                                 assignment_map={"model/": "model/"}, strict=False)[0]
    out, total = jax.jit(model.apply)(params, *args)
    np.testing.assert_allclose(out, tf_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(total, tf_sum, rtol=1e-6)


def test_directory_and_state_file_select_the_latest_checkpoint(tf, tmp_path):
    def build(value):
        return lambda tf1: tf1.get_variable("v", initializer=tf1.constant([value]))

    tf_save(tf, str(tmp_path / "model.ckpt"), build(1.0), step=1)
    latest, _ = tf_save(tf, str(tmp_path / "model.ckpt"), build(2.0), step=2)
    target = sj.transform(lambda: sj.get_variable("v", [1])).init(jax.random.key(0))
    for path in (tmp_path, str(tmp_path) + "/", latest, latest + ".index"):
        assert tfc.load_checkpoint(path, target, strict=False)[0]["v"].tolist() == [2.0]
    moved = tmp_path.parent / (tmp_path.name + "_moved")  # absolute paths in the state file
    shutil.copytree(tmp_path, moved)
    shutil.rmtree(tmp_path)
    assert tfc.load_checkpoint(moved, target, strict=False)[0]["v"].tolist() == [2.0]


def test_several_data_files(tf, tmp_path):
    """A sharded Saver over two devices writes one data file per device (and the default's)."""
    def build(tf1):
        for i in range(2):
            with tf1.device(f"/cpu:{i}"):
                tf1.get_variable(f"v{i}", initializer=tf1.constant(np.arange(3.0) + i))

    config = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
    path, _ = tf_save(tf, str(tmp_path / "model.ckpt"), build, sharded=True, config=config)
    assert len(list(tmp_path.glob("model.ckpt.data-*-of-00003"))) == 3  # one per device + 1
    target = sj.transform(lambda: [sj.get_variable(f"v{i}", [3], jnp.float64) for i in range(2)])
    params, report = tfc.load_checkpoint(path, target.init_abstract(jax.random.key(0)),
                                         strict=False)
    assert params["v1"].tolist() == [1.0, 2.0, 3.0] and params["v0"].tolist() == [0.0, 1.0, 2.0]
    assert report.unused == ("global_step",)


def test_tf2_object_checkpoint_with_a_regex_rule(tf, tmp_path):
    module = tf.Module()
    module.dense = tf.Module()
    module.dense.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    module.dense.bias = tf.Variable(np.ones(3, np.float32))
    path = tf.train.Checkpoint(model=module).write(str(tmp_path / "ckpt"))
    names = [v.name for v in tfc.list_variables(path)]
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in names
    assert "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    target = sj.transform(lambda: [sj.get_variable("dense/kernel", [2, 3]),
                                   sj.get_variable("dense/bias", [3])]).init(jax.random.key(0))
    rule = {re.compile(r"model/(.*)/\.ATTRIBUTES/VARIABLE_VALUE"): r"\1"}
    params = tfc.load_checkpoint(path, target, assignment_map=rule)  # strict: the graph is metadata
    assert params["dense/kernel"].tolist() == [[0, 1, 2], [3, 4, 5]]


# ------------------------------------------------------------------------- assignment maps


def renamed_target(scope="enc2", names=("dense/kernel", "dense/bias")):
    shapes = {"dense/kernel": [6, 5], "dense/bias": [5]}
    return sj.transform(lambda: [sj.get_variable(f"{scope}/{n}", shapes[n],
                                                 partitioner=sj.fixed_size_partitioner(2))
                                 for n in names]).init_abstract(jax.random.key(0))


def test_scope_exact_and_regex_rules(model_ckpt):
    path = model_ckpt[0]
    kernel = tfc.load_variable(path, "model/encoder/dense/kernel")
    params, report = tfc.load_checkpoint(path, renamed_target(),
                                         assignment_map={"model/encoder/": "enc2/"}, strict=False)
    assert same_bits(params["enc2/dense/kernel"], kernel)
    assert set(report.unused) == {"global_step", "model/embed/table", "model/scale"}
    exact = {"model/encoder/dense/kernel": "enc2/dense/kernel",
             "model/encoder/dense/bias": "enc2/dense/bias"}
    both, report = tfc.load_checkpoint(path, renamed_target(), assignment_map=exact, strict=False)
    assert same_bits(both["enc2/dense/kernel"], kernel) and report.missing == ()
    regex = [(re.compile(r"model/encoder/(dense/.*)"), r"enc2/\1")]
    assert same_bits(tfc.load_checkpoint(path, renamed_target(), assignment_map=regex,
                                         strict=False)[0]["enc2/dense/kernel"], kernel)
    # One tensor may feed several variables (two towers from one pretrained layer).
    towers = sj.transform(lambda: [sj.get_variable(f"t{i}/kernel", [6, 5]) for i in range(2)])
    params, _ = tfc.load_checkpoint(
        path, towers.init_abstract(jax.random.key(0)), strict=False,
        assignment_map={"model/encoder/dense/kernel": "t0/kernel",
                        "model/encoder/dense/": "t1/"})
    assert same_bits(params["t0/kernel"], kernel) and same_bits(params["t1/kernel"], kernel)


def test_root_scope_rule_loads_a_whole_checkpoint_one_scope_down(specs_ckpt):
    model = sj.transform(lambda: sj.get_variable("tower/plain/f64", [4], dtype=jnp.float32))
    with pytest.raises(tfc.CheckpointDtypeError, match=re.escape(
            "variable 'tower/plain/f64' (from checkpoint tensor 'plain/f64'): expected "
            "dtype=float32, found dtype=float64")):
        tfc.load_checkpoint(specs_ckpt, model.init_abstract(jax.random.key(0)),
                            assignment_map={"/": "tower/"}, strict=False)


def test_strict_errors_list_every_unmatched_name_with_hints(model_ckpt):
    typo = sj.transform(lambda: [sj.get_variable("model/encoder/dense/kernel", [6, 5]),
                                 sj.get_variable("model/encoder/dense/bais", [5])])
    with pytest.raises(tfc.CheckpointMismatchError) as e:
        tfc.load_checkpoint(model_ckpt[0], typo.init_abstract(jax.random.key(0)))
    message = str(e.value)
    assert "do not correspond (strict=True): 1 variable(s) loaded; " in message
    assert ("1 model variable(s) got no value: 'model/encoder/dense/bais' (closest existing "
            "names: 'model/encoder/dense/bias'" in message)
    assert ("4 checkpoint tensor(s) were not used: 'global_step' (no similar name among its 2 "
            "variables), 'model/embed/table'") in message
    assert "pass strict=False to load what matches and get a LoadReport" in message
    assert isinstance(e.value, ValueError) and isinstance(e.value, sj.ScopeJaxError)
    with pytest.raises(tfc.CheckpointMismatchError, match=re.escape(
            "assignment_map rule(s) that matched no checkpoint tensor: 'nope/' -> 'enc2/'")):
        tfc.load_checkpoint(model_ckpt[0], renamed_target(),
                            assignment_map={"model/encoder/": "enc2/", "nope/": "enc2/"})
    _, report = tfc.load_checkpoint(model_ckpt[0], renamed_target(),
                                    assignment_map={"nope/": "enc2/"}, strict=False)
    assert report.unmatched_rules == ("'nope/' -> 'enc2/'",) and not report.complete
    assert report.missing == ("enc2/dense/bias", "enc2/dense/kernel") and report.loaded == {}


def test_malformed_and_conflicting_maps(model_ckpt):
    path, target = model_ckpt[0], renamed_target()
    cases = [
        ({"model/encoder/": "enc2"}, "a checkpoint scope must map to a model scope; end the value "
                                     "with '/' ('enc2/')"),
        ({"model/encoder/dense/kernel": "enc2/"}, "for a whole scope end the key with '/' too"),
        ({3: "x"}, "keys must be checkpoint names, scopes ending in '/', or re.compile(...) "
                   "patterns; got int 3"),
        ("model/", "assignment_map must be a dict such as"),
        ({"model/encoder/dense/kernel": "enc2/dense/kernel",
          "model/embed/table": "enc2/dense/kernel"},
         "assignment_map gives model variable 'enc2/dense/kernel' two checkpoint tensors, "
         "'model/embed/table' and 'model/encoder/dense/kernel'"),
    ]
    for mapping, phrase in cases:
        with pytest.raises(tfc.AssignmentMapError, match=re.escape(phrase)):
            tfc.load_checkpoint(path, target, assignment_map=mapping, strict=False)


def test_shape_mismatch_names_the_variable_expected_and_found(model_ckpt):
    model = sj.transform(lambda: [sj.get_variable("model/scale", [2], dtype=jnp.float64),
                                  sj.get_variable("model/embed/table", [10, 6], jnp.float16)])
    with pytest.raises(tfc.CheckpointShapeError) as e:
        tfc.load_checkpoint(model_ckpt[0], model.init_abstract(jax.random.key(0)), strict=False)
    assert ("variable 'model/scale': expected shape=(2,), found shape=()" in str(e.value)
            and "variable 'model/embed/table': expected dtype=float16, found dtype=float32"
            in str(e.value))
    assert isinstance(e.value, sj.ShapeMismatchError)


def test_target_must_be_a_store(specs_ckpt):
    with pytest.raises(sj.StoreTypeError, match=re.escape(
            "load_checkpoint(target): expected a scopejax.ParamStore, got dict")):
        tfc.load_checkpoint(specs_ckpt, {"v": np.zeros(2)})
