"""Peak host memory of creating one large partitioned variable over 8 devices.

Run: .venv/bin/python benchmarks/bench_sharded_init.py [--gib 2] [--repeats 3]

Each measurement runs in a fresh process with 8 virtual CPU devices (all device memory is host
memory here), creates ``get_variable("embedding", [rows, 1024], partitioner=
fixed_size_partitioner(8))`` with the default glorot-uniform initializer, blocks until it is
ready, and reports the process's peak resident memory (``ru_maxrss``) above the resident memory
measured just before ``init``, divided by the variable's size. Modes:

* ``sharded``: ``transform(fn, mesh=8-device mesh).init``: one jitted init, each device computes
  only its shard;
* ``unsharded``: ``transform(fn).init`` (no mesh), the whole variable on one device;
* ``device_put``: unsharded init, then ``jax.device_put`` onto the 8-way sharding (what a naive
  port does);
* ``pure_jax``: the reference, ``jax.jit(jax.random.uniform, out_shardings=8-way)`` of the same
  shape, no scopejax.

The target of the sharding issue is ``sharded`` below 1.3x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import os, resource, json, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
import jax, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import scopejax as sj

mode, rows = sys.argv[1], int(sys.argv[2])
mesh = Mesh(np.array(jax.devices()), ("x",))

def model():
    return sj.get_variable("embedding", [rows, 1024], partitioner=sj.fixed_size_partitioner(8))

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

key = jax.random.key(0)
jax.block_until_ready(jax.random.uniform(key, (8,)))  # warm up the runtime
before = rss_bytes()
if mode == "sharded":
    params = sj.transform(model, mesh=mesh).init(key)
elif mode == "pure_jax":
    limit = (6 / (rows + 1024)) ** 0.5
    params = jax.jit(lambda k: jax.random.uniform(k, (rows, 1024), minval=-limit, maxval=limit),
                     out_shardings=NamedSharding(mesh, PartitionSpec("x")))(key)
elif mode == "unsharded":
    params = sj.transform(model).init(key)
else:
    params = sj.transform(model).init(key)
    params = jax.device_put(params, NamedSharding(mesh, PartitionSpec("x")))
jax.block_until_ready(params)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak, "size": rows * 1024 * 4}))
"""


def measure(mode: str, rows: int) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(rows)], check=True,
                         capture_output=True, text=True, env=os.environ | {"PYTHONHASHSEED": "0"})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return (result["peak"] - result["before"]) / result["size"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="sharded,pure_jax,unsharded,device_put")
    args = parser.parse_args()
    rows = int(args.gib * 2**30 / (1024 * 4)) // 8 * 8
    modes = args.modes.split(",")
    samples: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(args.repeats):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            samples[mode].append(measure(mode, rows))
            print(f"  {mode:<10} repeat {r}: {samples[mode][-1]:.2f}x", file=sys.stderr)
    print(f"variable float32[{rows}, 1024] = {rows * 4096 / 2**30:.2f} GiB, 8 CPU devices, "
          f"{args.repeats} fresh processes per mode, interleaved")
    print("| mode | peak RSS above baseline / variable size (median) | min | max |")
    print("|---|---:|---:|---:|")
    for mode in modes:
        s = samples[mode]
        print(f"| {mode} | {statistics.median(s):.2f}x | {min(s):.2f}x | {max(s):.2f}x |")


if __name__ == "__main__":
    main()
