"""TF1's reuse decision as a pure table: (exists?, reuse mode) -> create | return | error."""

from __future__ import annotations

import enum

from scopejax._src.errors import VariableExistsError, VariableNotFoundError
from scopejax._src.scope import AUTO_REUSE, ReuseMode


class Decision(enum.Enum):
    CREATE = "create"
    RETURN = "return"
    EXISTS_ERROR = "exists_error"
    MISSING_ERROR = "missing_error"


# The whole of TF1's rule (variable_scope.py, _VariableStore._get_single_variable).
TABLE: dict[tuple[bool, object], Decision] = {
    (False, False): Decision.CREATE,
    (True, False): Decision.EXISTS_ERROR,
    (False, True): Decision.MISSING_ERROR,
    (True, True): Decision.RETURN,
    (False, AUTO_REUSE): Decision.CREATE,
    (True, AUTO_REUSE): Decision.RETURN,
}


def decide(exists: bool, reuse: ReuseMode) -> Decision:
    """Looks up the table; ``reuse`` is a scope's resolved mode (False, True or AUTO_REUSE)."""
    return TABLE[(exists, reuse)]


def exists_error(name: str) -> VariableExistsError:
    return VariableExistsError(
        f"Variable {name} already exists, disallowed. Did you mean to set reuse=True or "
        "reuse=AUTO_REUSE in VarScope? (It was created earlier in this call; open the scope "
        "with reuse=True to share it, or give the second variable another name.)"
    )


def missing_error(name: str, hint: str) -> VariableNotFoundError:
    return VariableNotFoundError(
        f"Variable {name} does not exist, or was not created with get_variable(). Did you mean "
        f"to set reuse=AUTO_REUSE in VarScope? (The scope reuses, so it only returns variables "
        f"created earlier in this call; {hint}.)"
    )
