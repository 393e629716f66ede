"""Errors of the TF checkpoint reader (``scopejax.tf_checkpoint``).

Each also derives from the builtin a caller would catch (``ValueError``, ``FileNotFoundError``) and
from the matching scopejax error where one exists (``ShapeMismatchError``...), so existing
``except`` clauses keep working.
"""

from __future__ import annotations

from scopejax._src.errors import DtypeMismatchError, ScopeJaxError, ShapeMismatchError


class CheckpointError(ScopeJaxError, ValueError):
    """Base class of the errors raised while reading or loading a TF checkpoint."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint at the given path (no ``.index`` file, or no ``checkpoint`` state file)."""


class CheckpointFormatError(CheckpointError):
    """A file that is not a TF tensor bundle, or one that is truncated or corrupted."""


class UnsupportedCheckpointError(CheckpointError):
    """A valid checkpoint using a feature this reader does not implement (a dtype, compression)."""


class CheckpointMismatchError(CheckpointError):
    """Checkpoint entries and model variables do not correspond (``strict=True`` loads)."""


class CheckpointShapeError(CheckpointError, ShapeMismatchError):
    """A checkpoint tensor whose shape differs from the model variable it is loaded into."""


class CheckpointDtypeError(CheckpointError, DtypeMismatchError):
    """A checkpoint tensor whose dtype differs from the model variable it is loaded into."""


class AssignmentMapError(CheckpointError):
    """An ``assignment_map`` that is malformed or maps two checkpoint tensors to one variable."""


__all__ = [
    "AssignmentMapError",
    "CheckpointDtypeError",
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "CheckpointShapeError",
    "UnsupportedCheckpointError",
]
