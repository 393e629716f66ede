"""One process of a multi-host run: ``python worker.py MODE PORT PROCESS_ID CKPT_DIR OUT.npz``.

Started by ``test_multihost.py`` twice per phase (2 processes x 4 virtual CPU devices, one global
8-device mesh, gloo collectives over 127.0.0.1):

* ``train``: init a model with partitioned variables on the global mesh, check that this process
  holds only its own shards, run a few optax steps, save a checkpoint (params + optimiser state);
* ``restore``: a fresh pair restores the latest checkpoint into the abstract store of the same
  model laid out on another mesh (partition count 4 instead of 8), checks the shards again and
  takes one more step.

Each process writes the shards it holds (and their indices) to ``OUT.npz`` for the test to
reassemble and compare with a single-process run of the same seed.
"""

import os
import sys

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import numpy as np

from scopejax import checkpoint as ck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_def


def _dump(store, out, prefix):
    """The shards this process holds: ``prefix/name/i`` data and ``.../index`` (start, stop)."""
    for name, leaf in zip(store.names(), jax.tree.leaves(store), strict=True):
        for i, shard in enumerate(leaf.addressable_shards):
            if shard.replica_id != 0:
                continue
            bounds = [(s.start or 0, leaf.shape[d] if s.stop is None else s.stop)
                      for d, s in enumerate(shard.index)]
            out[f"{prefix}/{name}/{i}/data"] = np.asarray(shard.data)
            out[f"{prefix}/{name}/{i}/index"] = np.asarray(bounds, np.int64).reshape(-1, 2)


def _check_own_shards(store, expect_parts):
    """No process holds a whole partitioned variable: only its 4 of the global devices' shards."""
    local = set(jax.local_devices())
    for name, leaf in zip(store.names(), jax.tree.leaves(store), strict=True):
        info = store.info(name)
        assert {s.device for s in leaf.addressable_shards} == local, name
        if info.partition is None or info.partition.num_parts == 1:
            continue
        assert info.partition.num_parts == expect_parts, (name, info.partition)
        assert not leaf.is_fully_addressable, name
        axis = info.partition.axis
        rows = leaf.shape[axis] // expect_parts
        for shard in leaf.addressable_shards:
            assert shard.data.shape[axis] == rows, (name, shard.data.shape)
        held = {shard.index[axis].start or 0 for shard in leaf.addressable_shards}
        assert len(held) == expect_parts // jax.process_count(), (name, sorted(held))


def main():
    mode, port, pid, ckpt_dir, out_path = sys.argv[1:6]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=int(pid),
                               initialization_timeout=60)
    assert jax.process_count() == 2 and jax.device_count() == 8
    assert jax.local_device_count() == 4
    out = {}
    if mode == "train":
        model, mesh = model_def.model(jax.devices(), shards=8)
        params = model.init(model_def.key(), model_def.ids())
        _check_own_shards(params, 8)
        _dump(params, out, "init")
        params, state, losses = model_def.train(model, params, mesh, steps=3)
        _check_own_shards(params, 8)
        _dump(params, out, "trained")
        out["losses"] = np.asarray(losses)
        with ck.CheckpointManager(ckpt_dir, max_to_keep=2) as mngr:
            mngr.save(3, params, extra={"opt_state": state})
            assert mngr.all_steps() == (3,)
    else:
        model, mesh = model_def.model(jax.devices(), shards=4)
        target = model.init_abstract(model_def.key(), model_def.ids())
        extra_target = {"opt_state": jax.eval_shape(model_def.opt_init, target)}
        with ck.CheckpointManager(ckpt_dir, create=False) as mngr:
            restored = mngr.restore(target=target, extra_target=extra_target)
        assert restored.step == 3
        _check_own_shards(restored.params, 4)
        _dump(restored.params, out, "restored")
        params, _, losses = model_def.train(model, restored.params, mesh, steps=1,
                                            state=restored.extra["opt_state"])
        out["losses"] = np.asarray(losses)
    np.savez(out_path, **out)
    jax.distributed.shutdown()
    print("worker done", flush=True)


if __name__ == "__main__":
    main()
