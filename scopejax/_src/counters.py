"""TF1's default-name counters (``variable_scopes_count``) as a path trie.

TF keeps a flat ``{full scope name: times opened}`` dict and, on every exit of a named scope,
scans all of it to zero the entries below that scope: quadratic in the number of scopes. Keyed
by path components, closing a scope drops one subtree, and counts of ``"a/b"`` opened at the
root and of ``"b"`` opened inside ``"a"`` are the same entry, as in TF.
"""

from __future__ import annotations

import copy


class _Node:
    __slots__ = ("children", "count")

    def __init__(self) -> None:
        self.count = 0
        self.children: dict[str, _Node] = {}

    def __deepcopy__(self, memo: dict) -> _Node:
        node = _Node()
        node.count = self.count
        node.children = {k: v.__deepcopy__(memo) for k, v in self.children.items()}
        return node


class ScopeCounts:
    """How often each full scope name was opened, with TF1's reset rules."""

    __slots__ = ("_root",)

    def __init__(self) -> None:
        self._root = _Node()

    def _find(self, full_name: str) -> _Node | None:
        node = self._root
        for part in full_name.split("/"):
            node = node.children.get(part)
            if node is None:
                return None
        return node

    def count(self, full_name: str) -> int:
        node = self._find(full_name)
        return 0 if node is None else node.count

    def open(self, full_name: str) -> None:
        """TF's ``open_variable_scope``: one more opening of ``full_name``."""
        node = self._root
        for part in full_name.split("/"):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.count += 1

    def close_subscopes(self, full_name: str) -> None:
        """TF's ``close_variable_subscopes``: forget every scope below ``full_name``."""
        node = self._find(full_name)
        if node is not None:
            node.children = {}

    def snapshot(self) -> ScopeCounts:
        out = ScopeCounts()
        out._root = copy.deepcopy(self._root)
        return out

    def restore(self, snapshot: ScopeCounts) -> None:
        self._root = snapshot._root

    def unique_name(self, parent: str, prefix: str) -> str:
        """TF's ``_get_unique_variable_scope``: ``prefix``, else the first free ``prefix_N``."""
        base = f"{parent}/{prefix}" if parent else prefix
        if not self.count(base):
            return prefix
        i = 1
        while self.count(f"{base}_{i}"):
            i += 1
        return f"{prefix}_{i}"
