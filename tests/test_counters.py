"""The default-name counter trie against TF1's flat-dict algorithm (the reference model)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from scopejax._src.counters import ScopeCounts


class FlatCounts:
    """TF1's _VariableScopeStore counters, verbatim in spirit (variable_scope.py L1381-1396)."""

    def __init__(self):
        self.d = {}

    def open(self, name):
        self.d[name] = self.d.get(name, 0) + 1

    def count(self, name):
        return self.d.get(name, 0)

    def close_subscopes(self, name):
        for k in self.d:
            if k.startswith(name + "/"):
                self.d[k] = 0


def test_basic_sequence():
    c = ScopeCounts()
    assert c.unique_name("", "layer") == "layer"
    c.open("layer")
    assert c.unique_name("", "layer") == "layer_1"
    c.open("layer_1")
    c.open("a/b")
    assert c.unique_name("a", "b") == "b_1"
    c.open("a/b/c")
    c.close_subscopes("a")
    assert c.count("a/b") == 0 and c.count("a/b/c") == 0 and c.count("layer") == 1


def test_snapshot_restore_is_deep():
    c = ScopeCounts()
    c.open("x/y")
    snap = c.snapshot()
    c.open("x/y")
    c.open("x/z")
    c.restore(snap)
    assert c.count("x/y") == 1 and c.count("x/z") == 0


names = st.lists(st.sampled_from(["a", "b", "a_1", "c"]), min_size=1, max_size=3).map("/".join)
ops = st.lists(st.tuples(st.sampled_from(["open", "close"]), names), max_size=40)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(ops, st.lists(names, min_size=1, max_size=5))
def test_trie_matches_tf_flat_dict(sequence, queries):
    trie, flat = ScopeCounts(), FlatCounts()
    for op, name in sequence:
        if op == "open":
            trie.open(name)
            flat.open(name)
        else:
            trie.close_subscopes(name)
            flat.close_subscopes(name)
    for q in queries:
        assert trie.count(q) == flat.count(q)
