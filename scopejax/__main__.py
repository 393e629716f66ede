"""Command line: ``python -m scopejax inspect CKPT`` lists a TF checkpoint's variables.

>>> main(["inspect", "no/such/dir"])  # errors go to stderr, with exit status 1
1
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence

from scopejax._src.tf_bundle import DTYPES, Bundle
from scopejax._src.tf_errors import CheckpointError


def _size(entry_bytes: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if entry_bytes < 1024 or unit == "GiB":
            return f"{entry_bytes:.0f} {unit}" if unit == "B" else f"{entry_bytes:.1f} {unit}"
        entry_bytes /= 1024  # type: ignore[assignment]
    raise AssertionError  # unreachable


def inspect(path: str, pattern: str | None = None) -> str:
    """The table printed by ``inspect``: name, dtype, shape, slices and size of every tensor."""
    bundle = Bundle(path)
    regex = re.compile(pattern) if pattern else None
    rows, total = [], 0
    for name, entry in sorted(bundle.entries.items()):
        if regex is not None and not regex.search(name):
            continue
        dtype = DTYPES.get(entry.dtype, ("", None))[1]
        count = math.prod(entry.shape)
        nbytes = count * dtype.itemsize if dtype is not None else entry.size
        total += nbytes
        shape = "[" + ", ".join(map(str, entry.shape)) + "]"
        parts = str(len(entry.slices)) if entry.slices else "-"
        rows.append((name, entry.dtype_name, shape, parts, _size(nbytes)))
    header = ("name", "dtype", "shape", "slices", "size")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{len(rows)} tensors, {_size(total)}, in {bundle.prefix} "
                 f"({bundle.num_shards} data file{'s' if bundle.num_shards > 1 else ''})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m scopejax",
                                     description="scopejax command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser(
        "inspect", help="list the variables of a TF checkpoint (no TensorFlow needed)",
        description="List the tensors of a TF checkpoint: name, dtype, shape, slices, size.")
    show.add_argument("checkpoint", help="checkpoint prefix (DIR/model.ckpt-100), its .index "
                                         "file, or a directory with a 'checkpoint' state file")
    show.add_argument("--filter", metavar="REGEX", help="only names matching this regex")
    args = parser.parse_args(argv)
    try:
        print(inspect(args.checkpoint, args.filter))
    except (CheckpointError, re.error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
