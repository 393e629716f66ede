"""Checkpoints of ``ParamStore``s: sharded multi-host save/restore on orbax, flat safetensors.

>>> from scopejax import checkpoint
>>> sorted(checkpoint.__all__)[:3]
['CheckpointCorruptError', 'CheckpointError', 'CheckpointManager']

Needs the ``ckpt`` extra: ``pip install scopejax[ckpt]`` (orbax-checkpoint, safetensors).
"""

from scopejax._src.errors import MissingExtraError

try:
    import orbax.checkpoint  # noqa: F401
    import safetensors  # noqa: F401
except ImportError as e:  # an optional feature: say which extra, never fail obscurely later
    raise MissingExtraError(
        f"scopejax.checkpoint needs the `ckpt` extra: pip install 'scopejax[ckpt]' "
        f"(orbax-checkpoint, safetensors); {e.name or e} is not installed."
    ) from e

from scopejax._src.checkpoint import (
    CheckpointManager,
    Restored,
    latest_step,
    read_infos,
    restore,
    save,
)
from scopejax._src.checkpoint_format import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
)
from scopejax._src.flat_export import export_safetensors, import_safetensors

__all__ = [
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointManager",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "Restored",
    "export_safetensors",
    "import_safetensors",
    "latest_step",
    "read_infos",
    "restore",
    "save",
]

for _name in __all__:
    _obj = globals()[_name]
    try:
        _obj.__module__ = "scopejax.checkpoint"
    except (AttributeError, TypeError):
        pass
del _name, _obj
