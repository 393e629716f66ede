"""Two processes x 4 CPU devices (jax.distributed, gloo): init, train, save, restore elsewhere.

The workers (``worker.py``) run on one global 8-device mesh. The test reassembles the shards each
process held and compares them with a single-process run of the same seed on this process's 8
virtual devices (root conftest): init bit for bit, training to float tolerance (gloo's reductions
may add in another order), and the restored checkpoint, resharded from 8 to 4 partitions on a
4 x 2 mesh by a fresh pair of processes, bit for bit.
"""

import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from scopejax import checkpoint as ck

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_def

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 75  # seconds per phase; both phases together normally take ~20 s


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_pair(mode, ckpt_dir, out_dir):
    """Runs two workers to completion; kills both if one fails or the phase times out."""
    port = _free_port()
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}  # fmt: skip
    env.pop("JAX_NUM_CPU_DEVICES", None)
    procs, logs = [], []
    try:
        for pid in range(2):
            log = open(out_dir / f"{mode}{pid}.log", "w+")  # closed in `finally`
            logs.append(log)
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(HERE, "worker.py"), mode, str(port), str(pid),
                 str(ckpt_dir), str(out_dir / f"{mode}{pid}.npz")],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
        deadline = time.monotonic() + TIMEOUT
        while any(p.poll() is None for p in procs):
            failed = [p for p in procs if p.poll() not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
            log.close()
    codes = [p.returncode for p in procs]
    if codes != [0, 0]:
        tails = "\n".join(f"--- process {i} (exit {c}):\n" + "\n".join(
            line for line in out.splitlines()[-25:] if "Gloo" not in line)
            for i, (c, out) in enumerate(zip(codes, outputs, strict=True)))
        pytest.fail(f"{mode} workers failed or timed out after {TIMEOUT}s:\n{tails}")
    return [dict(np.load(out_dir / f"{mode}{pid}.npz")) for pid in range(2)]


def _assemble(dumps, prefix):
    """``{name: full array}`` from the shards the processes wrote; each element exactly once."""
    pieces = {}
    for pid, dump in enumerate(dumps):
        for key in dump:
            if key.startswith(prefix + "/") and key.endswith("/data"):
                name = key[len(prefix) + 1:].rsplit("/", 2)[0]
                index = dump[key[:-len("data")] + "index"]
                pieces.setdefault(name, []).append((pid, index, dump[key]))
    out = {}
    for name, parts in pieces.items():
        ndim = parts[0][1].shape[0]
        shape = tuple(max(int(i[d, 1]) for _, i, _ in parts) for d in range(ndim))
        full = np.zeros(shape, parts[0][2].dtype)
        count = np.zeros(shape, np.int32)
        for _, index, data in parts:
            sl = tuple(slice(int(a), int(b)) for a, b in index)
            full[sl] = data
            count[sl] += 1
        assert (count == 1).all(), f"{prefix}/{name}: elements held by no or several shards"
        out[name] = (full, {pid for pid, _, _ in parts})
    return out


def _stored(store, name):
    return np.asarray(jax.tree.leaves(store.filter(predicate=lambda n, _: n == name))[0])


def test_two_processes_train_save_and_restore_on_another_mesh(tmp_path):
    ckpt = tmp_path / "ckpt"
    trained_dumps = _run_pair("train", ckpt, tmp_path)
    restored_dumps = _run_pair("restore", ckpt, tmp_path)

    # The single-process reference: same model, seed and steps on 8 local devices.
    model, mesh = model_def.model(jax.devices()[:8], shards=8)
    init = model.init(model_def.key(), model_def.ids())
    trained, state, losses = model_def.train(model, init, mesh, steps=3)

    for prefix, ref in (("init", init), ("trained", trained)):
        got = _assemble(trained_dumps, prefix)
        assert set(got) == set(ref.names())
        for name, (full, holders) in got.items():
            info = ref.info(name)
            if info.partition is not None and info.partition.num_parts > 1:
                assert holders == {0, 1}, f"{name}: not split across both processes"
            if prefix == "init":
                np.testing.assert_array_equal(full, _stored(ref, name), err_msg=name)
            else:
                np.testing.assert_allclose(full, _stored(ref, name), rtol=2e-6, atol=1e-7,
                                           err_msg=name)  # fmt: skip
    np.testing.assert_allclose(trained_dumps[0]["losses"], losses, rtol=1e-6)
    np.testing.assert_array_equal(trained_dumps[0]["losses"], trained_dumps[1]["losses"])

    # The fresh pair restored the checkpoint into 4 partitions (52 padded rows) on a 4x2 mesh.
    multi = {n: f for n, (f, _) in _assemble(trained_dumps, "trained").items()}
    restored = _assemble(restored_dumps, "restored")
    for name, (full, holders) in restored.items():
        info = trained.info(name)
        if info.physical_shape is None:
            np.testing.assert_array_equal(full, multi[name], err_msg=name)
            continue
        axis = info.partition.axis
        assert full.shape[axis] == 52 and holders == {0, 1}, name
        logical = np.take(full, np.arange(info.shape[axis]), axis=axis)
        padding = np.take(full, np.arange(info.shape[axis], 52), axis=axis)
        np.testing.assert_array_equal(logical, np.take(multi[name], np.arange(
            info.shape[axis]), axis=axis), err_msg=name)  # fmt: skip
        np.testing.assert_array_equal(padding, 0.0, err_msg=name)

    # The multi-host checkpoint also restores in this single process, and training continues
    # from it as from the in-process state.
    target = model.init_abstract(model_def.key(), model_def.ids())
    with ck.CheckpointManager(ckpt, create=False) as mngr:
        got = mngr.restore(target=target, extra_target={
            "opt_state": jax.eval_shape(model_def.opt_init, target)})
    for name in trained:
        np.testing.assert_allclose(got.params[name], trained[name], rtol=2e-6, atol=1e-7)
    _, _, next_loss = model_def.train(model, trained, mesh, steps=1, state=state)
    np.testing.assert_allclose(restored_dumps[0]["losses"], next_loss, rtol=1e-5)
    np.testing.assert_array_equal(restored_dumps[0]["losses"], restored_dumps[1]["losses"])
