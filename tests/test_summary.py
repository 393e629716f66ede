"""scopejax summary: golden text and markdown, sharded stores over 8 devices, abstract vs concrete,
depth grouping, rich rendering, and the errors."""

import io
import sys

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from jax.sharding import AxisType

import scopejax as sj
from scopejax._src.summary import (
    MissingExtraError,
    Summary,
    SummaryArgumentError,
    SummaryTypeError,
    summary,
)
from scopejax._src.summary_render import format_bytes, print_summary, render

KEY = jax.random.key(0)
GK = sj.GraphKeys


def small_store():
    return sj.ParamStore.from_flat_dict(
        {"dense/kernel": jnp.ones((2, 3)), "dense/bias": jnp.zeros(3),
         "global_step": jnp.zeros((), jnp.int32), "bn/moving_mean": jnp.zeros(3, jnp.bfloat16)},
        {"global_step": sj.VarInfo((), jnp.int32, False, (GK.GLOBAL_VARIABLES, "counters")),
         "bn/moving_mean": sj.VarInfo((3,), jnp.bfloat16, False,
                                      (GK.GLOBAL_VARIABLES, GK.MOVING_AVERAGE_VARIABLES))})


SMALL_TEXT = """\
name            shape   dtype     params  bytes  trainable  collections
--------------  ------  --------  ------  -----  ---------  ------------------------
bn/moving_mean  (3,)    bfloat16       3    6 B  no         moving_average_variables
dense/bias      (3,)    float32        3   12 B  yes
dense/kernel    (2, 3)  float32        6   24 B  yes
global_step     ()      int32          1    4 B  no         counters
Total: 4 variables, 13 params, 46 B
Trainable: 2 variables, 9 params, 36 B; non-trainable: 2 variables, 4 params, 10 B"""

SMALL_MARKDOWN = """\
| name | shape | dtype | params | bytes | trainable | collections |
|:---|:---|:---|---:|---:|:---|:---|
| `bn/moving_mean` | `(3,)` | bfloat16 | 3 | 6 B | no | moving_average_variables |
| `dense/bias` | `(3,)` | float32 | 3 | 12 B | yes |  |
| `dense/kernel` | `(2, 3)` | float32 | 6 | 24 B | yes |  |
| `global_step` | `()` | int32 | 1 | 4 B | no | counters |

- Total: 4 variables, 13 params, 46 B
- Trainable: 2 variables, 9 params, 36 B; non-trainable: 2 variables, 4 params, 10 B"""


def test_small_store_text_is_golden():
    s = summary(small_store())
    assert str(s) == s.to_text() == render(s, "text") == SMALL_TEXT
    assert not s.placed
    row = s.rows[0]
    assert (row.name, row.shape, row.dtype, row.params, row.bytes, row.bytes_per_device,
            row.devices, row.partitions, row.trainable) == (
        "bn/moving_mean", (3,), "bfloat16", 3, 6, 6, 1, 0, False)  # fmt: skip
    assert row.collections == (GK.GLOBAL_VARIABLES, GK.MOVING_AVERAGE_VARIABLES)


def assert_valid_markdown_table(text):
    """A GitHub table: header, a separator of ---/:--- cells, rows with as many cells; a blank
    line ends it; no unescaped pipe inside a cell."""
    lines = text.split("\n")
    table = lines[: lines.index("")]
    split = [line.split(" | ") for line in table[2:]]
    header = table[0].strip("| ").split(" | ")
    separator = table[1].strip("|").split("|")
    assert table[0].startswith("| ") and table[0].endswith(" |")
    assert len(separator) == len(header)
    assert all(cell in (":---", "---:") for cell in separator)
    for line, cells in zip(table[2:], split, strict=True):
        assert line.startswith("| ") and line.endswith(" |"), line
        assert len(cells) == len(header), line
        assert line.count("|") - line.count("\\|") == len(header) + 1, line
    return header, table[2:]


def test_small_store_markdown_is_golden_and_valid():
    text = summary(small_store()).to_markdown()
    assert text == SMALL_MARKDOWN
    header, rows = assert_valid_markdown_table(text)
    assert len(rows) == 4 and header[0] == "name"


def test_markdown_escapes_pipes_in_collections():
    store = sj.ParamStore.from_flat_dict(
        {"w": jnp.ones(2)}, {"w": sj.VarInfo((2,), jnp.float32, False, ("a|b",))})
    _, rows = assert_valid_markdown_table(summary(store).to_markdown())
    assert rows == ["| `w` | `(2,)` | float32 | 2 | 8 B | no | a\\|b |"]


def test_depth_groups_by_leading_scope_components():
    store = sj.ParamStore.from_flat_dict({
        "enc/layer_0/w": jnp.ones((2, 2)), "enc/layer_1/w": jnp.ones((2, 2)),
        "enc/b": jnp.ones(2), "dec/w": jnp.ones((3,)), "step": jnp.zeros((), jnp.int32)},
        {"step": sj.VarInfo((), jnp.int32, trainable=False)})  # fmt: skip
    s1, s2 = summary(store, depth=1), summary(store, depth=2)
    assert [(g.scope, g.variables, g.params) for g in s1.groups] == [
        ("", 1, 1), ("dec", 1, 3), ("enc", 3, 10)]
    assert [g.scope for g in s2.groups] == ["", "dec", "enc", "enc/layer_0", "enc/layer_1"]
    assert summary(store, depth=9).groups == s2.groups  # deeper than any scope: full scopes
    assert s1.rows == summary(store).rows and s1.totals == summary(store).totals
    assert str(s1) == """\
scope   variables  params  trainable params  bytes
------  ---------  ------  ----------------  -----
(root)          1       1                 0    4 B
dec             1       3                 3   12 B
enc             3      10                10   40 B
Total: 5 variables, 14 params, 56 B
Trainable: 4 variables, 13 params, 52 B; non-trainable: 1 variable, 1 param, 4 B"""
    header, rows = assert_valid_markdown_table(s1.to_markdown())
    assert header[:2] == ["scope", "variables"]
    assert rows[0].startswith("| (root) | 1 |") and rows[1].startswith("| `dec` | 1 |")


# --------------------------------------------------------------------------- sharded, 8 devices


def sharded_model(x):
    with sj.variable_scope("emb", partitioner=sj.fixed_size_partitioner(8)):
        sj.get_variable("table", [13, 4])  # uneven: stored as (16, 4), 2 rows per device
    with sj.variable_scope("enc", partitioner=sj.fixed_size_partitioner(4, axis=1)):
        w = sj.get_variable("w", [4, 6])  # 4 shards on the "model" axis, replicated over "data"
    b = sj.get_variable("b", [6])
    sj.get_variable("step", [], jnp.int32, trainable=False, initializer=sj.zeros_initializer(),
                    collections=[GK.GLOBAL_VARIABLES, "counters"])  # fmt: skip
    return x @ w + b[None, :]


MESH = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
X = jnp.ones((2, 4))

SHARDED_TEXT = """\
name       shape    dtype    params  bytes  per device  partitions                   sharding              trainable  collections
---------  -------  -------  ------  -----  ----------  ---------------------------  --------------------  ---------  -----------
b          (6,)     float32       6   24 B        24 B                               replicated            yes
emb/table  (13, 4)  float32      52  208 B        32 B  8 on axis 0, stored (16, 4)  P(('data', 'model'))  yes
enc/w      (4, 6)   float32      24   96 B        32 B  4 on axis 1, stored (4, 8)   P(None, 'model')      yes
step       ()       int32         1    4 B         4 B                               replicated            no         counters
Total: 4 variables, 83 params, 332 B, 92 B per device (most loaded of 8 devices); stored with padding: 412 B
Trainable: 3 variables, 82 params, 328 B; non-trainable: 1 variable, 1 param, 4 B"""  # noqa: E501


def test_sharded_store_with_uneven_partitions_is_golden():
    model = sj.transform(sharded_model, mesh=MESH)
    s = summary(model, X)
    assert s.placed
    assert str(s) == SHARDED_TEXT
    assert [(r.name, r.devices, r.stored_shape) for r in s.rows] == [
        ("b", 8, (6,)), ("emb/table", 8, (16, 4)), ("enc/w", 8, (4, 8)), ("step", 8, ())]
    assert_valid_markdown_table(s.to_markdown())


@pytest.fixture(scope="module")
def concrete():
    """``{mesh: init's store}`` for the sharded model, built once per mesh (init is the slow
    part of these tests)."""
    cache = {}

    def get(mesh):
        if mesh not in cache:  # jitted: eager init draws partitioned variables row by row
            cache[mesh] = jax.jit(sj.transform(sharded_model, mesh=mesh).init)(KEY, X)
        return cache[mesh]

    return get


def test_per_device_bytes_match_the_shards_jax_allocated(concrete):
    params = concrete(MESH)
    s = summary(params)
    load = {}
    for row, leaf in zip(s.rows, jax.tree.leaves(params), strict=True):
        shards = {shard.device: shard.data.nbytes for shard in leaf.addressable_shards}
        assert row.bytes_per_device == max(shards.values()), row.name
        assert row.devices == len(shards)
        for device, n in shards.items():
            load[device] = load.get(device, 0) + n
    assert s.totals.bytes_per_device == max(load.values()) == 92
    assert s.totals.stored_bytes == sum(leaf.nbytes for leaf in jax.tree.leaves(params))
    assert s.totals.devices == 8


def test_totals_per_device_sum_per_device_not_row_maxima():
    on = [jax.device_put(jnp.ones(4), d) for d in jax.devices()[:2]]
    s = summary(sj.ParamStore.from_flat_dict({"a": on[0], "b": on[1], "c": jnp.ones(2)}))
    assert [r.bytes_per_device for r in s.rows] == [16, 16, 8]
    assert s.totals.bytes_per_device == 24  # device 0 holds a and c; device 1 holds b
    assert s.totals.devices == 2 and not s.placed


@pytest.mark.parametrize("mesh", [MESH, None])
def test_abstract_and_concrete_summaries_are_equal(mesh, concrete):
    model = sj.transform(sharded_model, mesh=mesh)
    params = concrete(mesh)
    assert summary(model, X) == summary(params)
    assert summary(model.init_abstract(KEY, X)) == summary(params)
    assert summary(model, jax.ShapeDtypeStruct((2, 4), jnp.float32), depth=1) == summary(
        params, depth=1)
    if mesh is None:  # eval_shape's leaves carry no sharding: one device, like init's
        assert summary(jax.eval_shape(model.init, KEY, X)) == summary(params)


def test_model_summary_computes_nothing():
    def huge(ids):
        with sj.variable_scope("lm", partitioner=sj.fixed_size_partitioner(8)):
            emb = sj.get_variable("embedding", [2_000_003, 50_000])  # 400 GB of float32
        return emb[ids]

    model = sj.transform(huge, mesh=jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,)))
    s = summary(model, jax.ShapeDtypeStruct((4,), jnp.int32))
    (row,) = s.rows
    assert row.params == 2_000_003 * 50_000 and row.stored_shape == (2_000_008, 50_000)
    assert row.bytes_per_device == 250_001 * 50_000 * 4
    assert "8 on axis 0, stored (2000008, 50000)" in str(s) and "372.5 GiB" in str(s)


def test_model_summary_takes_keyword_inputs_and_rng():
    def f(x, units=3):
        return x @ sj.get_variable("w", [x.shape[-1], units])

    model = sj.transform(f)
    s = summary(model, X, example_kwargs={"units": 5}, rng=jax.random.key(7))
    assert s.rows[0].shape == (4, 5)


def test_stacked_layers_count_every_layer():
    def f(x):
        def layer(h):
            with sj.variable_scope("dense"):
                return h @ sj.get_variable("w", [4, 4])

        return sj.scan_layers(layer, x, 3)

    s = summary(sj.transform(f), X)
    assert [(r.name, r.shape, r.params) for r in s.rows] == [("layer_*/dense/w", (3, 4, 4), 48)]


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(
    st.from_regex(r"[a-c]{1,2}(/[a-c]{1,2}){0,2}/v", fullmatch=True),
    st.tuples(st.lists(st.integers(0, 5), max_size=3), st.sampled_from(["float32", "int8",
                                                                        "bfloat16"]),
              st.booleans()), max_size=8))  # fmt: skip
def test_totals_and_groups_add_up(spec):
    values = {n: jax.ShapeDtypeStruct(tuple(shape), jnp.dtype(dt))
              for n, (shape, dt, _) in spec.items()}  # fmt: skip
    infos = {n: sj.VarInfo(tuple(shape), dt, trainable) for n, (shape, dt, trainable) in
             spec.items()}  # fmt: skip
    s = summary(sj.ParamStore.from_flat_dict(values, infos), depth=1)
    t = s.totals
    assert t.params == sum(r.params for r in s.rows) == sum(g.params for g in s.groups)
    assert t.bytes == sum(r.bytes for r in s.rows) == sum(g.bytes for g in s.groups)
    assert t.trainable_params == sum(g.trainable_params for g in s.groups)
    assert t.variables == len(spec) == sum(g.variables for g in s.groups)
    assert all(r.bytes == r.params * jnp.dtype(r.dtype).itemsize for r in s.rows)
    assert len(summary(sj.ParamStore.from_flat_dict(values, infos)).to_text().split("\n")) == (
        len(spec) + 4)


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1024, 10 * 2**20 + 2**19, 2**50 * 3000)] == [
        "0 B", "1023 B", "1.0 KiB", "10.5 MiB", "3000.0 PiB"]


# ------------------------------------------------------------------------------------------ rich


def test_rich_console_renders_a_table_with_totals():
    from rich.console import Console

    console = Console(record=True, width=100, file=io.StringIO(), color_system=None)
    console.print(summary(small_store()))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if "name" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == [
        "name", "shape", "dtype", "params", "bytes", "trainable", "collections"]
    body = [line for line in lines if line.startswith("│")]
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in body]
    assert cells[:4] == [
        ["bn/moving_mean", "(3,)", "bfloat16", "3", "6 B", "no", "moving_average_variables"],
        ["dense/bias", "(3,)", "float32", "3", "12 B", "yes", ""],
        ["dense/kernel", "(2, 3)", "float32", "6", "24 B", "yes", ""],
        ["global_step", "()", "int32", "1", "4 B", "no", "counters"]]
    assert cells[4] == ["Total (4 variables)", "", "", "13", "46 B", "", ""]
    assert lines[-1].rstrip() == ("Trainable: 2 variables, 9 params, 36 B; non-trainable: 2 "
                                  "variables, 4 params, 10 B")


def test_rich_sharded_table_keeps_names_whole_in_a_narrow_console():
    s = summary(sj.transform(sharded_model, mesh=MESH), X)
    text = render(s, "rich", width=110)
    assert all(len(line) <= 110 for line in text.splitlines())
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "│ emb/table " in text and "92 B" in text and "stored with padding: 412 B" in text
    assert "Total (4 variables)" in text


def test_print_summary_uses_rich_only_in_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out, tty = io.StringIO(), Terminal()
    returned = print_summary(small_store(), file=out)
    assert isinstance(returned, Summary)
    assert out.getvalue() == SMALL_TEXT + "\n"
    print_summary(small_store(), file=tty)
    assert "┏" in tty.getvalue() and "dense/kernel" in tty.getvalue()
    out = io.StringIO()
    print_summary(sj.transform(sharded_model, mesh=MESH), X, file=out, format="markdown",
                  depth=1)  # fmt: skip
    assert out.getvalue().startswith("| scope | variables |")


RICH_MISSING = ("Rendering a summary with rich needs the 'rich' package, which is not installed. "
                "Install the UI extra: pip install scopejax[ui] (or use format='text' / "
                "'markdown').")


def test_rich_missing_raises_a_clear_error_never_falls_back(monkeypatch):
    for module in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "rich", None)
    s = summary(small_store())
    for call in (s.to_rich, lambda: render(s, "rich"),
                 lambda: print_summary(small_store(), format="rich", file=io.StringIO())):
        with pytest.raises(MissingExtraError) as info:
            call()
        assert str(info.value) == RICH_MISSING
        assert isinstance(info.value, ImportError | sj.ScopeJaxError)
    assert str(s) == SMALL_TEXT  # text and markdown need nothing

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    print_summary(small_store(), file=tty)  # format=None: the best available, documented
    assert tty.getvalue() == SMALL_TEXT + "\n"


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, error, message", [
    (lambda: summary({"w": jnp.ones(2)}), SummaryTypeError,
     "summary: expected a scopejax.ParamStore or a scopejax.transform result (Transformed), got "
     "dict; convert it first: ParamStore.from_flat_dict(d) / from_nested_dict(d), or "
     "scopejax.interop.from_flax_variables / from_haiku_params."),
    (lambda: summary(sharded_model, X), SummaryTypeError,
     "summary: expected a scopejax.ParamStore or a scopejax.transform result (Transformed), got "
     "function; wrap the model function with scopejax.transform(fn) and pass that."),
    (lambda: summary(3), SummaryTypeError,
     "summary: expected a scopejax.ParamStore or a scopejax.transform result (Transformed), got "
     "int; pass model.init(...) / model.init_abstract(...) or the model itself."),
    (lambda: summary(small_store(), X), SummaryTypeError,
     "summary: example inputs (or rng=) were given with a ParamStore, which already holds the "
     "variables. Pass the model (the scopejax.transform result) to summarise it on inputs, or "
     "drop the inputs."),
    (lambda: summary(small_store(), depth=0), SummaryArgumentError,
     "summary: depth must be a positive int (the number of leading scope components to group "
     "by) or None for one row per variable, got 0."),
    (lambda: summary(small_store(), depth=True), SummaryArgumentError,
     "summary: depth must be a positive int (the number of leading scope components to group "
     "by) or None for one row per variable, got True."),
    (lambda: render(summary(small_store()), "html"), SummaryArgumentError,
     "summary format must be one of 'text', 'markdown', 'rich', got 'html'."),
    (lambda: print_summary(small_store(), format="md"), SummaryArgumentError,
     "print_summary: format must be one of 'text', 'markdown', 'rich' or None (rich in a "
     "terminal, else text), got 'md'."),
])  # fmt: skip
def test_error_messages(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, sj.ScopeJaxError)
    assert isinstance(info.value, TypeError if error is SummaryTypeError else ValueError)


def test_summary_is_a_frozen_value():
    s = summary(small_store())
    with pytest.raises(AttributeError):
        s.rows = ()
    assert s == summary(small_store()) and hash(s.rows[0]) == hash(summary(small_store()).rows[0])
    np.testing.assert_equal(s.totals.params, 13)
