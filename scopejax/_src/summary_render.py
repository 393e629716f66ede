"""Renders a :class:`Summary`: plain text, GitHub markdown, or a ``rich`` table.

All three show the same cells. The per-device, partition and sharding columns appear only when
some variable is partitioned or spread over several devices (``Summary.placed``); with
``depth=k`` the table has one row per scope group instead of one per variable. ``rich`` is
imported only when a rich rendering is asked for; without it that raises
:class:`MissingExtraError` (``pip install scopejax[ui]``), never a silent fallback.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import IO, Any

from scopejax._src.summary import (
    MissingExtraError,
    Summary,
    SummaryArgumentError,
    SummaryGroup,
    SummaryRow,
    extra_collections,
    summary,
)

FORMATS = ("text", "markdown", "rich")
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")
_WRAPPING = ("partitions", "sharding", "collections")  # rich may wrap these; never names

# (header, right-aligned?, cell)
Column = tuple[str, bool, Callable[[Any], str]]


def format_bytes(n: int) -> str:
    """``"512 B"``, ``"1.5 KiB"``, ``"2.0 GiB"`` (binary units, one decimal).

    >>> format_bytes(1023), format_bytes(1536), format_bytes(3 * 2**30)
    ('1023 B', '1.5 KiB', '3.0 GiB')
    """
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _partitions(row: SummaryRow) -> str:
    if not row.partitions:
        return ""
    text = f"{row.partitions} on axis {row.partition_axis}"
    return text if row.stored_shape == row.shape else f"{text}, stored {row.stored_shape}"


def _row_columns(placed: bool) -> list[Column]:
    columns: list[Column] = [
        ("name", False, lambda r: r.name),
        ("shape", False, lambda r: str(r.shape)),
        ("dtype", False, lambda r: r.dtype),
        ("params", True, lambda r: f"{r.params:,}"),
        ("bytes", True, lambda r: format_bytes(r.bytes)),
    ]
    if placed:
        columns += [
            ("per device", True, lambda r: format_bytes(r.bytes_per_device)),
            ("partitions", False, _partitions),
            ("sharding", False, lambda r: r.sharding),
        ]
    return [
        *columns,
        ("trainable", False, lambda r: "yes" if r.trainable else "no"),
        ("collections", False, lambda r: ", ".join(extra_collections(r))),
    ]


def _group_columns(placed: bool) -> list[Column]:
    columns: list[Column] = [
        ("scope", False, lambda g: g.scope or "(root)"),
        ("variables", True, lambda g: f"{g.variables:,}"),
        ("params", True, lambda g: f"{g.params:,}"),
        ("trainable params", True, lambda g: f"{g.trainable_params:,}"),
        ("bytes", True, lambda g: format_bytes(g.bytes)),
    ]
    if placed:
        columns.append(("per device", True, lambda g: format_bytes(g.bytes_per_device)))
    return columns


def _table(s: Summary) -> tuple[list[Column], tuple[SummaryRow, ...] | tuple[SummaryGroup, ...]]:
    if s.depth is not None:
        return _group_columns(s.placed), s.groups
    return _row_columns(s.placed), s.rows


def totals_lines(s: Summary) -> list[str]:
    """The two lines under every rendering: totals, then trainable vs non-trainable."""
    t = s.totals
    total = f"Total: {_count(t.variables, 'variable')}, {_count(t.params, 'param')}, "
    total += format_bytes(t.bytes)
    if s.placed:
        total += (f", {format_bytes(t.bytes_per_device)} per device "
                  f"(most loaded of {_count(t.devices, 'device')})")
    if t.stored_bytes != t.bytes:
        total += f"; stored with padding: {format_bytes(t.stored_bytes)}"
    frozen = (t.variables - t.trainable_variables, t.params - t.trainable_params,
              t.bytes - t.trainable_bytes)  # fmt: skip
    split = (f"Trainable: {_count(t.trainable_variables, 'variable')}, "
             f"{_count(t.trainable_params, 'param')}, {format_bytes(t.trainable_bytes)}; "
             f"non-trainable: {_count(frozen[0], 'variable')}, {_count(frozen[1], 'param')}, "
             f"{format_bytes(frozen[2])}")
    return [total, split]


def to_text(s: Summary) -> str:
    """Aligned columns under a dashed rule, then :func:`totals_lines`; no trailing spaces."""
    columns, items = _table(s)
    cells = [[cell(item) for _, _, cell in columns] for item in items]
    widths = [max([len(header), *(len(row[i]) for row in cells)])
              for i, (header, _, _) in enumerate(columns)]  # fmt: skip

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if right else v.ljust(w)
                         for v, w, (_, right, _) in zip(values, widths, columns, strict=True)
                         ).rstrip()  # fmt: skip

    lines = [line([header for header, _, _ in columns]), line(["-" * w for w in widths])]
    lines += [line(row) for row in cells]
    return "\n".join(lines + totals_lines(s))


def _md(text: str, code: bool = False) -> str:
    if code and text and text != "(root)":
        return f"`{text}`"
    return text.replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(s: Summary) -> str:
    """A GitHub table (names and shapes as code spans), then the totals as a list."""
    columns, items = _table(s)
    code = {"name", "shape", "scope"}
    lines = ["| " + " | ".join(header for header, _, _ in columns) + " |",
             "|" + "|".join("---:" if right else ":---" for _, right, _ in columns) + "|"]
    for item in items:
        cells = [_md(cell(item), header in code) for header, _, cell in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *(f"- {t}" for t in totals_lines(s))])


def _import_rich() -> Any:
    try:
        import rich.table
    except ImportError as e:
        raise MissingExtraError(
            "Rendering a summary with rich needs the 'rich' package, which is not installed. "
            "Install the UI extra: pip install scopejax[ui] (or use format='text' / 'markdown')."
        ) from e
    return rich.table


def to_rich(s: Summary) -> Any:
    """A ``rich.table.Table``: the totals in its footer, the trainable split as its caption."""
    table_module = _import_rich()
    columns, items = _table(s)
    total, split = totals_lines(s)
    table = table_module.Table(show_footer=True, caption=split, caption_justify="left",
                               title=None)  # fmt: skip
    t = s.totals
    footers = {"name": f"Total ({_count(t.variables, 'variable')})",
               "scope": f"Total ({_count(t.variables, 'variable')})",
               "params": f"{t.params:,}", "bytes": format_bytes(t.bytes),
               "trainable params": f"{t.trainable_params:,}",
               "variables": f"{t.variables:,}"}
    if s.placed:
        footers["per device"] = format_bytes(t.bytes_per_device)
    for header, right, _ in columns:
        table.add_column(header, footer=footers.get(header, ""),
                         justify="right" if right else "left",
                         no_wrap=header not in _WRAPPING)  # fmt: skip
    for item in items:
        table.add_row(*(cell(item) for _, _, cell in columns))
    if t.stored_bytes != t.bytes:
        table.caption = f"{split}\n{total.split('; ', 1)[1]}"
    return table


def render(s: Summary, format: str = "text", *, width: int = 120) -> str:
    """``s`` as a string in ``format`` (``"text"``, ``"markdown"`` or ``"rich"``)."""
    if format == "text":
        return to_text(s)
    if format == "markdown":
        return to_markdown(s)
    if format == "rich":
        table = to_rich(s)
        from rich.console import Console

        console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
        console.print(table)
        return "\n".join(line.rstrip() for line in console.export_text().splitlines())
    raise SummaryArgumentError(
        f"summary format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}."
    )


def print_summary(
    target: Any,
    *example_args: Any,
    format: str | None = None,
    file: IO[str] | None = None,
    **summary_kwargs: Any,
) -> Summary:
    """Prints :func:`summary` of ``target`` and returns it.

    Args:
      target, example_args, summary_kwargs: as for :func:`summary` (``rng=``, ``depth=``,
        ``example_kwargs=``).
      format: ``"text"``, ``"markdown"`` or ``"rich"``. ``None`` chooses: ``"rich"`` when
        ``file`` (default ``sys.stdout``) is a terminal and ``rich`` is installed, else
        ``"text"``. An explicit ``"rich"`` without ``rich`` raises :class:`MissingExtraError`.
      file: where to print (default ``sys.stdout``).

    >>> import jax.numpy as jnp
    >>> from scopejax._src.store import ParamStore
    >>> _ = print_summary(ParamStore.from_flat_dict({"w": jnp.ones(3)}), format="markdown")
    | name | shape | dtype | params | bytes | trainable | collections |
    |:---|:---|:---|---:|---:|:---|:---|
    | `w` | `(3,)` | float32 | 3 | 12 B | yes |  |
    <BLANKLINE>
    - Total: 1 variable, 3 params, 12 B
    - Trainable: 1 variable, 3 params, 12 B; non-trainable: 0 variables, 0 params, 0 B
    """
    out = sys.stdout if file is None else file
    if format is None:
        format = "rich" if _isatty(out) and _has_rich() else "text"
    if format not in FORMATS:
        raise SummaryArgumentError(
            f"print_summary: format must be one of {', '.join(map(repr, FORMATS))} or None "
            f"(rich in a terminal, else text), got {format!r}."
        )
    result = summary(target, *example_args, **summary_kwargs)
    if format == "rich":
        table = to_rich(result)
        from rich.console import Console

        Console(file=out).print(table)
    else:
        print(render(result, format), file=out)
    return result


def _isatty(out: Any) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return False


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["format_bytes", "print_summary", "render", "to_markdown", "to_rich", "to_text",
           "totals_lines"]
