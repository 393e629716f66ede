"""caching_device: where the model reads a variable, independent of where it is stored."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import scopejax as sj

KEY = jax.random.key(0)
MESH = Mesh(np.array(jax.devices()), ("x",))


def _fsdp(x, caching_device="replicated"):
    """Stored sharded 8 ways (FSDP-like), read replicated."""
    with sj.variable_scope("fsdp", partitioner=sj.fixed_size_partitioner(8),
                           caching_device=caching_device):  # fmt: skip
        w = sj.get_variable("w", [16, 4])
    with sj.variable_scope("fsdp", reuse=True):
        w2 = sj.get_variable("w")
    return x @ w, w, w2


def test_eager_reads_are_placed_once_per_call():
    model = sj.transform(_fsdp, mesh=MESH)
    params = model.init(KEY, jnp.ones((2, 16)))
    stored = jax.tree.leaves(params)[0]
    assert stored.sharding.spec == PartitionSpec("x")
    _, w, w2 = model.apply(params, jnp.ones((2, 16)))
    assert w is w2  # every read in the call reuses the placed copy
    assert w.sharding.is_fully_replicated and len(w.sharding.device_set) == 8
    np.testing.assert_array_equal(w, params["fsdp/w"])


def test_jitted_reads_carry_a_constraint_and_an_all_gather():
    model = sj.transform(_fsdp, mesh=MESH)
    params = model.init(KEY, jnp.ones((2, 16)))
    hlo = jax.jit(lambda p, x: model.apply(p, x)[0]).lower(params, jnp.ones((2, 16)))
    assert "sharding_constraint" in hlo.as_text()
    assert "all-gather" in hlo.compile().as_text()
    plain = sj.transform(lambda x: _fsdp(x, None), mesh=MESH)
    plain_hlo = jax.jit(lambda p, x: plain.apply(p, x)[0]).lower(params, jnp.ones((2, 16)))
    assert "sharding_constraint" not in plain_hlo.as_text()
    assert "all-gather" not in plain_hlo.compile().as_text()


@pytest.mark.parametrize("device", [jax.devices()[3], "/cpu:3", "/device:CPU:3", "cpu:3",
                                    lambda name, shape, dtype: jax.devices()[3]])
def test_device_forms(device):
    def f():
        return sj.get_variable("v", [2], caching_device=device)

    out, params = sj.transform(f).init_with_output(KEY)
    assert out.devices() == {jax.devices()[3]}
    seen = sj.transform(f).apply(params)
    assert seen.devices() == {jax.devices()[3]}


def test_bad_caching_devices():
    def f(device):
        return lambda: sj.get_variable("v", [2], caching_device=device)

    with pytest.raises(ValueError, match=r"Variable v: caching_device '/gpu:0' asks for gpu "
                       r"device 0, but this process has 0 gpu device"):  # fmt: skip
        sj.transform(f("/gpu:0")).init(KEY)
    with pytest.raises(ValueError, match=r"caching_device 'nowhere' is not a device string"):
        sj.transform(f("nowhere")).init(KEY)
    with pytest.raises(TypeError, match=r"caching_device must be a Sharding, a jax.Device"):
        sj.transform(f(3)).init(KEY)
    with pytest.raises(ValueError, match=r"caching_device='replicated' needs a mesh"):
        sj.transform(f("replicated")).init(KEY)
    params = sj.transform(f(None)).init(KEY)
    with pytest.raises(ValueError, match=r"inside jax.jit, caching_device must be a "
                       r"NamedSharding"):  # fmt: skip
        jax.jit(sj.transform(f("/cpu:1")).apply)(params)
    sharding = NamedSharding(MESH, PartitionSpec())
    assert jax.jit(sj.transform(f(sharding)).apply)(params).shape == (2,)
