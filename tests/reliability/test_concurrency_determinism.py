"""Reliability: threads/asyncio tasks never share per-call state; results are deterministic.

Threads running different models (or roots) at once must each get what a sequential run gets; a
Barrier inside the model makes every thread be mid-model at the same time. Values depend only on
the key and the name: not on repetition, process, hash seed, creation order, parts or devices.
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj
from scopejax import GraphKeys, get_variable, get_variable_scope, variable_scope

KEY, APPLY_KEY = jax.random.key(0), jax.random.key(1)
N_THREADS = 8


def nothing():
    return None


def tower(x, depth=2, sync=nothing):
    """A TF1-style MLP using all per-call state: default names, collections, losses, rng."""
    seen = []
    with variable_scope("tower", regularizer=sj.l2_regularizer(0.1)):
        for i in range(depth):
            with variable_scope(None, default_name="dense"):
                w = get_variable("kernel", [x.shape[-1], 4])
                b = get_variable("bias", [4], initializer=sj.random_normal_initializer())
                x = jnp.tanh(x @ w + b[None, :])
                if i == 0:
                    sync()  # every thread is inside a scope of an active run here
                seen.append(get_variable_scope().name)
                x = x * jax.random.bernoulli(sj.next_rng_key(), 0.5, x.shape)
        sj.add_to_collection("acts", x)
        seen.append(get_variable_scope().name)
    return dict(out=x, seen=seen, reg=sj.get_regularization_loss(),
                n_reg=len(sj.get_regularization_losses()), acts=sj.get_collection("acts"),
                n_global=len(sj.get_collection(GraphKeys.GLOBAL_VARIABLES)),
                n_trainable=len(sj.get_collection(GraphKeys.TRAINABLE_VARIABLES)),
                key=jax.random.key_data(sj.next_rng_key()))  # fmt: skip


def stats(x, sync=nothing):
    """Batch-norm-like state: a moving average, a local step counter, an own default name."""
    with variable_scope(None, default_name="bn"):
        mean = get_variable("moving_mean", [x.shape[-1]], trainable=False,
                            initializer=sj.zeros_initializer())  # fmt: skip
        steps = sj.get_local_variable("steps", [], initializer=sj.zeros_initializer())
        sync()
        sj.assign_moving_average(mean, x.mean(0), 0.9)
        sj.assign_add(steps, 1.0)
        gamma = get_variable("gamma", [x.shape[-1]])
        name = get_variable_scope().name
    return dict(out=(x - mean[None, :]) * gamma[None, :], name=name,
                n_local=len(sj.get_collection(GraphKeys.LOCAL_VARIABLES)),
                n_global=len(sj.get_collection(GraphKeys.GLOBAL_VARIABLES)))  # fmt: skip


def fingerprint(tree):
    """Exact, hashable content of a pytree: paths, dtypes, shapes, bytes; strings as they are."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    return str(treedef), tuple(
        (jax.tree_util.keystr(p), str(v.dtype), v.shape, v.tobytes())
        if isinstance(v, jax.Array | np.ndarray) else (jax.tree_util.keystr(p), repr(v))
        for p, v in leaves
    )  # fmt: skip


def store_fp(store):
    return tuple((n, repr(store.info(n)), np.asarray(v).tobytes()) for n, v in store.items())


A = sj.Scope.root().child("a")
MODELS = [
    sj.transform(tower),
    sj.transform(lambda x, sync=nothing: tower(x, 3, sync)),
    sj.transform(tower, root=A),
    sj.transform(tower, root=sj.Scope.root().child("b", regularizer=sj.l1_regularizer(1.0))),
    sj.transform(stats),
    sj.transform(stats, root=A),
]
INPUTS = [jax.random.normal(jax.random.key(i), (2, 3 + i % 2)) for i in range(3)]
JOBS = [(m, i) for m in range(len(MODELS)) for i in range(len(INPUTS))]


def run_job(job, sync=nothing):
    model, x = MODELS[job[0]], INPUTS[job[1]]
    out, store = model.init_with_output(KEY, x, sync=sync)
    out2, new = model.apply(store, x, rng=APPLY_KEY, mutable=True, sync=sync)
    return fingerprint(out), store_fp(store), fingerprint(out2), store_fp(new)


@pytest.fixture(scope="module")
def reference():
    return {job: run_job(job) for job in JOBS}


def assert_no_active_call():
    with pytest.raises(sj.NoTransformError):
        get_variable_scope()


def test_reference_runs_are_what_the_models_describe(reference):
    # Sanity of the sequential oracle itself, so thread results are compared with the truth.
    _, store, _, _ = reference[(2, 0)]
    assert [n for n, *_ in store] == [
        "a/tower/dense/bias", "a/tower/dense/kernel", "a/tower/dense_1/bias",
        "a/tower/dense_1/kernel",
    ]  # fmt: skip
    out, _ = MODELS[1].init_with_output(KEY, INPUTS[0])
    assert out["seen"] == ["tower/dense", "tower/dense_1", "tower/dense_2", "tower"]
    assert (out["n_reg"], out["n_global"], out["n_trainable"], len(out["acts"])) == (6, 6, 6, 1)
    out, _ = MODELS[5].init_with_output(KEY, INPUTS[0])
    assert (out["name"], out["n_local"], out["n_global"]) == ("a/bn", 1, 2)
    assert reference[(0, 0)][1] != reference[(2, 0)][1]  # other root: other names and values


def test_threads_running_different_models_match_sequential_runs(reference):
    barrier = threading.Barrier(N_THREADS, timeout=60)
    rounds = 30

    def worker(t):
        results = []
        for r in range(rounds):
            job = JOBS[(r * N_THREADS + t * 5) % len(JOBS)]
            results.append((job, run_job(job, sync=barrier.wait)))
            assert_no_active_call()
        return results

    with ThreadPoolExecutor(N_THREADS) as pool:
        all_results = [res for f in [pool.submit(worker, t) for t in range(N_THREADS)]
                       for res in f.result()]  # fmt: skip
    assert len(all_results) == N_THREADS * rounds
    assert len({job for job, _ in all_results}) == len(JOBS)
    for job, got in all_results:
        assert got == reference[job], job


def test_jitted_apply_traced_concurrently_in_threads_matches_sequential():
    traces = []
    model = sj.transform(lambda x: traces.append(x.shape) or tower(x, 2)["out"])
    xs = [jnp.full((1 + t, 3), 0.1 * t) for t in range(N_THREADS // 2)]  # one trace per shape
    params = model.init(KEY, xs[0])

    def jitted():  # a new function object each time: nothing shared with an earlier jit
        return jax.jit(lambda p, x: model.apply(p, x, rng=APPLY_KEY))

    sequential = jitted()
    expected = [np.asarray(sequential(params, x)).tobytes() for x in xs]
    traces.clear()
    concurrent = jitted()
    with ThreadPoolExecutor(N_THREADS) as pool:
        got = list(pool.map(lambda x: np.asarray(concurrent(params, x)).tobytes(), xs * 4))
    assert got == expected * 4
    assert sorted(set(traces)) == sorted(x.shape for x in xs)


class Boom(Exception):
    pass


def faulty(x, fail, sync=nothing):
    with variable_scope("outer"):
        with variable_scope(None, default_name="dense"):
            get_variable("w", [4, 2], regularizer=sj.l2_regularizer(1.0))
            sj.add_to_collection("acts", x)
            sj.next_rng_key()
            try:  # caught inside the model: the scope and the call go on
                with variable_scope("inner"), variable_scope(None, default_name="d"):
                    get_variable("w", [2])
                    raise KeyError
            except KeyError:
                pass
            sync()
            if fail:
                raise Boom(get_variable_scope().name)
    return tower(x)


def test_an_exception_in_one_thread_leaves_no_state_anywhere(reference):
    model = sj.transform(faulty)
    clean_out, clean_store = model.init_with_output(KEY, INPUTS[0], False)
    assert clean_store.names()[:2] == ("outer/dense/inner/d/w", "outer/dense/w")
    expected = (fingerprint(clean_out), store_fp(clean_store))
    barrier = threading.Barrier(N_THREADS, timeout=60)

    def worker(t):
        for r in range(10):
            fail = (t + r) % 2 == 0
            if fail:
                with pytest.raises(Boom, match=r"^outer/dense$"):
                    model.init_with_output(KEY, INPUTS[0], True, sync=barrier.wait)
            else:
                out, store = model.init_with_output(KEY, INPUTS[0], False, sync=barrier.wait)
                assert (fingerprint(out), store_fp(store)) == expected
            assert_no_active_call()
            # The thread's next call starts from scratch (counters, collections, rng counts).
            assert run_job((0, 1)) == reference[(0, 1)]
            out, store = model.init_with_output(KEY, INPUTS[0], False)
            assert (fingerprint(out), store_fp(store)) == expected
        return True

    with ThreadPoolExecutor(N_THREADS) as pool:
        assert all(pool.map(worker, range(N_THREADS)))


def test_asyncio_tasks_inside_one_call_each_see_their_own_scope():
    n_tasks = 6

    async def worker(i, log):
        with variable_scope(f"task{i}"):
            await asyncio.sleep(0)
            with variable_scope(None, default_name="dense"):
                await asyncio.sleep(0)
                log.append((i, get_variable_scope().name))
                v = get_variable("w", [3])
                await asyncio.sleep(0)
                key = jax.random.key_data(sj.next_rng_key())
            await asyncio.sleep(0)
            log.append((i, get_variable_scope().name))
        with variable_scope(None, default_name="blk") as blk:  # shared counter: unique names
            await asyncio.sleep(0)
            assert get_variable_scope().name == blk.name
        return v, key, blk.name

    async def run_all(log):
        return await asyncio.gather(*(worker(i, log) for i in range(n_tasks)))

    def concurrent():
        log = []
        results = asyncio.run(run_all(log))
        return results, log, get_variable_scope().name

    def sequential():
        log = []
        results = [asyncio.run(worker(i, log)) for i in range(n_tasks)]
        return results, log, get_variable_scope().name

    (got, log, after), store = sj.transform(concurrent).init_with_output(KEY)
    (ref, ref_log, _), ref_store = sj.transform(sequential).init_with_output(KEY)
    assert after == ""
    assert log != ref_log and sorted(log) == sorted(ref_log)  # interleaved; own scopes only
    assert [s for s in log if s[0] == 0] == [(0, "task0/dense"), (0, "task0")]
    assert sorted(b for *_, b in got) == ["blk"] + [f"blk_{i}" for i in range(1, n_tasks)]
    assert store_fp(store) == store_fp(ref_store)
    for (v, key, _), (v2, key2, _) in zip(got, ref, strict=True):
        assert v.tobytes() == v2.tobytes() and key.tobytes() == key2.tobytes()
    assert_no_active_call()


# -- determinism ---------------------------------------------------------------------------------

# Run in this process and, verbatim, in subprocesses with other hash seeds and device counts.
HASH_CODE = r"""
import hashlib, json
import jax, jax.numpy as jnp, numpy as np
import scopejax as sj
from jax.sharding import AxisType

def digest(store):
    h = hashlib.sha256()
    for name in sorted(store.names()):
        value = np.asarray(store[name])
        h.update(f"{name}|{value.dtype}|{value.shape}|".encode() + value.tobytes())
    return h.hexdigest()

def plain(x):
    with sj.variable_scope("enc", initializer=sj.truncated_normal_initializer(stddev=0.5)):
        for _ in range(2):
            with sj.variable_scope(None, default_name="dense"):
                x = x @ sj.get_variable("kernel", [x.shape[-1], 5]) + sj.get_variable(
                    "bias", [1, 5], initializer=sj.random_uniform_initializer(-1.0, 1.0))
        noise = jax.random.normal(sj.next_rng_key(), x.shape)
    return x + noise

def parted(partitioner):
    def fn():
        with sj.variable_scope("p", partitioner=partitioner):
            sj.get_variable("emb", [11, 6])  # uneven: shards of 6 and 5 rows
            sj.get_variable("proj", [8, 3], initializer=sj.truncated_normal_initializer(0.0, 0.1))
            sj.get_variable("scale", [10], initializer=sj.random_uniform_initializer(-1.0, 1.0))
            sj.get_variable("normal", [4, 4], initializer=sj.random_normal_initializer())
    return fn

def hashes():
    key, x = jax.random.key(7), jnp.arange(6.0).reshape(2, 3)
    out, store = sj.transform(plain).init_with_output(key, x)
    applied = sj.transform(plain).apply(store, x, rng=jax.random.key(3))
    mesh = jax.make_mesh((len(jax.devices()),), ("x",), axis_types=(AxisType.Auto,))
    sharded = sj.transform(parted(sj.fixed_size_partitioner(2)), mesh=mesh).init(key)
    phys = {n: v for n, v in zip(sharded.names(), jax.tree.leaves(sharded))}
    return dict(
        devices=len(jax.devices()),
        emb_devices=len(phys["p/emb"].sharding.device_set),
        emb_shard=list(phys["p/emb"].sharding.shard_shape(phys["p/emb"].shape)),
        plain=digest(store),
        out=hashlib.sha256(np.asarray(out).tobytes() + np.asarray(applied).tobytes()).hexdigest(),
        sharded=digest(sharded),
        unmeshed=digest(sj.transform(parted(sj.fixed_size_partitioner(2))).init(key)),
        three_parts=digest(sj.transform(parted(sj.fixed_size_partitioner(3))).init(key)),
    )
"""


def in_process_hashes():
    namespace = {}
    exec(HASH_CODE, namespace)
    return namespace["hashes"]()


@pytest.fixture(scope="module")
def here_hashes():
    return in_process_hashes()


def test_same_key_gives_bitwise_identical_stores_across_runs(reference, here_hashes):
    for job in JOBS:
        assert run_job(job) == reference[job]
    init = jax.jit(MODELS[0].init)
    first = store_fp(init(KEY, INPUTS[0]))
    assert all(store_fp(init(KEY, INPUTS[0])) == first for _ in range(3))
    assert in_process_hashes() == here_hashes


def test_values_agree_across_processes_hash_seeds_and_device_counts(here_hashes):
    code = HASH_CODE + "\nprint(json.dumps(hashes()))\n"
    procs = []
    for seed, devices in (("1", 2), ("4242", 8)):
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    here = here_hashes
    two, eight = results
    assert (two["devices"], eight["devices"], here["devices"]) == (2, 2 * 4, 8)
    # Really placed differently: 2 shards of 6 (padded) rows on 2 vs on all 8 devices.
    assert (two["emb_devices"], two["emb_shard"]) == (2, [6, 6])
    assert (eight["emb_devices"], eight["emb_shard"]) == (8, [6, 6])
    meta = ("devices", "emb_devices")
    strip = lambda r: {k: v for k, v in r.items() if k not in meta}
    assert strip(two) == strip(eight) == strip(here)
    # Neither placement nor the number of parts changes values (row-by-row draws).
    assert here["sharded"] == here["unmeshed"] == here["three_parts"]


def test_initial_values_do_not_depend_on_creation_order():
    specs = [("a", [3, 2]), ("b/c", [4]), ("d/e/f", [2, 2]), ("g", [5, 1])]

    def make(order, extra):
        def fn():
            for name, shape in [("unrelated", [7])] * extra + order:
                get_variable(name, shape)  # "b/c" is created in scope "b", as in TF1

        return sj.transform(fn).init(KEY)

    forward, backward = make(specs, False), make(specs[::-1], True)
    assert set(forward.names()) == set(backward.names()) - {"unrelated"}
    for name in forward.names():
        assert np.asarray(forward[name]).tobytes() == np.asarray(backward[name]).tobytes(), name


def test_jitted_apply_retraces_only_when_shapes_change():
    traces = []
    model = sj.transform(lambda x: traces.append(x.shape) or tower(x, 2)["out"])
    x = jnp.ones((2, 3))
    params = model.init(KEY, x)
    other = model.init(jax.random.key(5), x)
    apply = jax.jit(lambda p, x, k: model.apply(p, x, rng=k))
    traces.clear()
    first = apply(params, x, APPLY_KEY)
    assert traces == [(2, 3)]
    # New values everywhere (params, inputs, rng key): same executable, no new trace.
    scaled = jax.tree.map(lambda v: v * 2.0, params)
    assert isinstance(scaled, sj.ParamStore) and scaled.names() == params.names()
    second = apply(scaled, x + 1.0, jax.random.key(9))
    apply(other, x, APPLY_KEY)
    assert traces == [(2, 3)]
    assert np.asarray(first).tobytes() != np.asarray(second).tobytes()
    # A new batch size retraces once; new parameter shapes retrace too.
    apply(params, jnp.ones((5, 3)), APPLY_KEY)
    apply(params, jnp.ones((5, 3)) * 3.0, APPLY_KEY)
    assert traces == [(2, 3), (5, 3)]
    wide = model.init(KEY, jnp.ones((2, 6)))
    del traces[2:]  # init's eager run
    apply(wide, jnp.ones((2, 6)), APPLY_KEY)
    assert traces == [(2, 3), (5, 3), (2, 6)]
    # init under jit: new keys reuse the trace.
    init = jax.jit(model.init)
    traces.clear()
    stores = [init(jax.random.key(i), x) for i in range(3)]
    assert traces == [(2, 3)] and len({store_fp(s) for s in stores}) == 3
