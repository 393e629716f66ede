"""Which JAX transforms work around ``init`` / ``apply``, for every kind of scopejax model.

Each model starts with ``proj``, partitioned 8 ways along axis 1 (12 columns as 2,2,2,2,1,1,1,1;
a TF1-style initializer that sees each shard's offset): logical without a mesh, stored sharded
and padded to 16 columns with the 8-device mesh. A cell compares with the eager reference of the
same model and mesh (values to 1e-5; tree structure, so every ``VarInfo``, equal); eager results
with the mesh equal the mesh-free ones. ``jax.grad`` is the gradient of a loss of ``apply`` with
respect to the trainable params (``params.split()``), so it has no ``init`` cell.

=================  ==========================================  ===============================
model              init: eager, jit, vmap (ensemble),          apply: eager, jit, vmap (batch),
                   eval_shape, lax.scan, checkpoint            grad, eval_shape, lax.scan,
                                                               checkpoint
=================  ==========================================  ===============================
mlp                works (both meshes)                         works (both meshes)
scan_rnn           works (both meshes)                         works (both meshes)
scan_layers        works (both meshes)                         works (both meshes)
state (mutable)    works (both meshes)                         works (both meshes)
dropout (rng)      works (both meshes)                         works (both meshes)
plain_lax_scan     eager: TransformLeakError (no mesh);        works (both meshes): apply only
                   eval_shape: works (abstract only);          reads variables
                   others: UnexpectedTracerError
=================  ==========================================  ===============================

This suite found three bugs, fixed since (``scopejax.scan`` creating a variable under a mesh,
``assign`` by value in a mesh init, and a false ``TransformLeakError`` for assignments under an
outer ``vmap``/``grad``). Plain ``jax.lax.scan`` bodies are fresh lambdas here: JAX caches
traces by function, so a module-level body would keep the first call's variables (README).
``MATRIX`` is the exact table.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType

import scopejax as sj

D, H, OUT, N = 8, 12, 2, 2  # input features, hidden (partitioned 8 ways), outputs, keys/examples
MODELS = ("mlp", "scan_rnn", "scan_layers", "state", "dropout", "plain_lax_scan")
OUTERS = ("eager", "jit", "vmap", "grad", "eval_shape", "lax_scan", "checkpoint")
MESHES = ("none", "mesh8")


def _ramp(shape, dtype=None, partition_info=None):  # TF1-style, called once per shard
    column = jnp.arange(shape[1]) + (partition_info.var_offset[1] if partition_info else 0)
    return jnp.sin(jnp.arange(shape[0])[:, None] + 0.7 * column[None, :]).astype(dtype)


def _proj(x):
    part = sj.fixed_size_partitioner(8, axis=1)
    return jnp.tanh(x @ sj.get_variable("proj", [D, H], initializer=_ramp, partitioner=part))


def _dense(h, n, name="dense"):
    with sj.variable_scope(name):
        w = sj.get_variable("kernel", [h.shape[-1], n])
        b = sj.get_variable("bias", [n], initializer=sj.constant_initializer(0.1))
        return h @ w + b[None, :]


def _cell(h, x):
    h = jnp.tanh(x + h @ sj.get_variable("w", [H, H]))
    return h, h


def mlp(x):
    return _dense(jax.nn.relu(_dense(_proj(x), H, "hidden")), OUT)


def scan_rnn(x):  # the batch axis is the time axis
    h = _proj(x)
    with sj.variable_scope("rnn"):
        return _dense(sj.scan(_cell, jnp.zeros(H), h)[1], OUT)


def plain_lax_scan(x):  # scan_rnn with jax.lax.scan: same names, params from scan_rnn's init
    h = _proj(x)
    with sj.variable_scope("rnn"):  # a fresh body per call: JAX caches traces by function
        return _dense(jax.lax.scan(lambda c, x: _cell(c, x), jnp.zeros(H), h)[1], OUT)


def scan_layers(x):
    return _dense(sj.scan_layers(lambda h: jnp.tanh(_dense(h, H)), _proj(x), 3), OUT)


def state(x):
    h = _proj(x)
    with sj.variable_scope("bn"):
        keys = [sj.GraphKeys.GLOBAL_VARIABLES, sj.GraphKeys.MOVING_AVERAGE_VARIABLES]
        moving = sj.get_variable("moving_mean", [H], trainable=False, collections=keys,
                                 initializer=sj.zeros_initializer())  # fmt: skip
        mean = sj.assign_moving_average(moving, h.mean(0), 0.9)
    return _dense(h - mean[None, :], OUT)


def dropout(x):
    h = _proj(x)
    with sj.variable_scope("dropout"):
        keep = jax.random.bernoulli(sj.next_rng_key(), 0.5, h.shape)
    return _dense(jnp.where(keep, h / 0.5, 0.0), OUT)


# (model, mesh, "init" | "apply", outer transform) -> "works" | the exception class name.
MATRIX = {
    cell: "works"
    for cell in itertools.product(MODELS, MESHES, ("init", "apply"), OUTERS)
    if cell[2:] != ("init", "grad")
}
for _mesh, _outer in itertools.product(MESHES, OUTERS):
    if _outer not in ("grad", "eval_shape"):  # a mesh init is jitted: JAX reports the leak
        MATRIX["plain_lax_scan", _mesh, "init", _outer] = "UnexpectedTracerError"
MATRIX["plain_lax_scan", "none", "init", "eager"] = "TransformLeakError"

ERRORS = {"TransformLeakError": sj.TransformLeakError,
          "UnexpectedTracerError": jax.errors.UnexpectedTracerError}  # fmt: skip


@functools.cache
def model(name, mesh):
    m = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,)) if mesh == "mesh8" else None
    return sj.transform(globals()[name], mesh=m)


def inputs():
    xs = jax.random.normal(jax.random.key(1), (N, 5, D))
    return jax.random.split(jax.random.key(2), N), xs, jax.random.split(jax.random.key(3), N)


@functools.cache
def eager_init(name, mesh, i):
    keys, xs, _ = inputs()
    return model(name, mesh).init(keys[i], xs[0])


@functools.cache
def reference(name, mesh):
    """(params, call, eager call on each example): ``call`` is ``apply`` with rng= / mutable=."""
    _, xs, rngs = inputs()
    params = eager_init("scan_rnn" if name == "plain_lax_scan" else name, mesh, 0)
    apply = model(name, mesh).apply

    def call(params, x, rng):
        return apply(params, x, rng=rng, mutable=name == "state")

    return params, call, [call(params, xs[i], rngs[i]) for i in range(N)]


def assert_same(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert (g.shape, g.dtype) == (w.shape, w.dtype)
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-5)


def logical(tree):  # stores as {name: logical value}: comparable across meshes
    is_store = lambda t: isinstance(t, sj.ParamStore)
    return jax.tree.map(lambda t: t.to_flat_dict() if is_store(t) else t, tree, is_leaf=is_store)


def stack(trees):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def run_init(name, mesh, outer):
    keys, xs, _ = inputs()
    init = model(name, mesh).init
    if outer == "eager":
        return eager_init(name, mesh, 0) if name != "plain_lax_scan" else init(keys[0], xs[0])
    if outer == "jit":
        return jax.jit(init)(keys[0], xs[0])
    if outer == "vmap":
        return jax.vmap(init, in_axes=(0, None))(keys, xs[0])
    if outer == "eval_shape":
        return jax.eval_shape(init, keys[0], xs[0])
    if outer == "lax_scan":
        return jax.lax.scan(lambda c, k: (c, init(k, xs[0])), None, keys)[1]
    assert outer == "checkpoint"
    return jax.checkpoint(init)(keys[0], xs[0])


def check_init(name, mesh, outer, got):
    params = reference(name, mesh)[0]
    if outer == "eval_shape":
        assert jax.tree.structure(got) == jax.tree.structure(params)
        shapes = lambda t: [(a.shape, a.dtype) for a in jax.tree.leaves(t)]
        assert shapes(got) == shapes(params)
        if mesh == "mesh8":  # init_abstract adds the shardings init gives
            keys, xs, _ = inputs()
            abstract = model(name, mesh).init_abstract(keys[0], xs[0])
            for a, p in zip(jax.tree.leaves(abstract), jax.tree.leaves(params), strict=True):
                assert a.sharding.is_equivalent_to(p.sharding, p.ndim)
    elif outer in ("vmap", "lax_scan"):  # an ensemble: member i is init(keys[i])
        members = [jax.tree.map(lambda a, i=i: a[i], got) for i in range(N)]
        assert [jax.tree.structure(m) for m in members] == [jax.tree.structure(params)] * N
        for i, member in enumerate(members):  # the mesh-free reference (values do not depend on
            assert_same(logical(member), logical(eager_init(name, "none", i)))  # the mesh)
        assert any(not np.allclose(a[0], a[1]) for a in jax.tree.leaves(got))
    else:
        assert_same(got, params)
    if mesh == "mesh8" and outer in ("eager", "jit", "checkpoint"):
        assert got.info("proj").physical_shape == (D, 16)  # 8 shards of 2 columns (padded)
        shards = jax.tree.leaves(got)[got.names().index("proj")].addressable_shards
        assert sorted(s.device.id for s in shards) == list(range(8))
        assert {s.data.shape for s in shards} == {(D, 2)}
    if mesh == "mesh8" and outer == "eager":  # values do not depend on the mesh
        assert_same(logical(got), logical(reference(name, "none")[0]))


def run_apply(name, mesh, outer):
    _, xs, rngs = inputs()
    params, call, _ = reference(name, mesh)
    if outer == "eager":
        return call(params, xs[0], rngs[0])
    if outer == "jit":
        return jax.jit(call)(params, xs[0], rngs[0])
    if outer == "vmap":  # one example per row of xs, the params shared
        return jax.vmap(call, in_axes=(None, 0, None))(params, xs, rngs[0])
    if outer == "eval_shape":
        return jax.eval_shape(call, params, xs[0], rngs[0])
    if outer == "checkpoint":
        return jax.checkpoint(call)(params, xs[0], rngs[0])
    if outer == "grad":
        trainable, rest = params.split()
        return jax.grad(lambda t: loss(call(t.merge(rest), xs[0], rngs[0])))(trainable)
    assert outer == "lax_scan"  # one step per example; params carried (state updates them)
    return jax.lax.scan(lambda p, step: scan_step(name, call, p, *step), params, (xs, rngs))


def scan_step(name, call, params, x, rng):
    out = call(params, x, rng)
    return out[::-1] if name == "state" else (params, out)


def loss(out):
    return jnp.sum(jnp.sin(out[0] if isinstance(out, tuple) else out))


def check_apply(name, mesh, outer, got):
    _, xs, rngs = inputs()
    params, call, steps = reference(name, mesh)
    if outer == "eval_shape":
        assert jax.tree.structure(got) == jax.tree.structure(steps[0])
        shapes = lambda t: [(a.shape, a.dtype) for a in jax.tree.leaves(t)]
        assert shapes(got) == shapes(steps[0])
    elif outer == "vmap":
        assert_same(got, stack([call(params, x, rngs[0]) for x in xs]))
    elif outer == "grad":  # the same gradient through a plain dict of the trainable values
        trainable, rest = params.split()
        as_dict = lambda d: loss(call(trainable.replace(d).merge(rest), xs[0], rngs[0]))
        assert_same(got, trainable.replace(jax.grad(as_dict)(trainable.to_flat_dict())))
        assert set(got.names()) == set(params.filter(trainable=True).names())
        assert np.abs(np.asarray(got["proj"])).max() > 0
    elif outer == "lax_scan":
        p, outs = params, []
        for i in range(N):
            p, out = scan_step(name, call, p, xs[i], rngs[i])
            outs.append(out)
        assert_same(got, (p, stack(outs)))
    else:
        assert_same(got, steps[0])
    if mesh == "mesh8" and outer == "eager":  # values do not depend on the mesh
        assert_same(logical(got), logical(reference(name, "none")[2][0]))


@pytest.mark.parametrize("cell", list(MATRIX), ids="-".join)
def test_cell(cell):
    name, mesh, target, outer = cell
    run, check = (run_init, check_init) if target == "init" else (run_apply, check_apply)
    if MATRIX[cell] == "works":
        check(name, mesh, outer, run(name, mesh, outer))
    else:
        with pytest.raises(ERRORS[MATRIX[cell]]):
            run(name, mesh, outer)
