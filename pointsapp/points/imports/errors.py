"""Row-level import errors: every bad row is reported, and nothing is written.

Each error carries a stable ``code`` with ``params`` (translated by the web's refusal catalog)
and an English ``reason`` for the command line and logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    row: int | None  # the row number the user sees in the file
    column: str | None  # the header text as written in the file
    value: object
    reason: str
    code: str | None = None
    params: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f", value {_shown(self.value)}" if self.value not in (None, "") else ""
        return f"{where}{col}{val}: {self.reason}"


def _shown(value: object) -> str:
    """A cell value as the user typed it: dates as 2026-11-20 (not a Python repr), text quoted."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


class ImportErrors(ValueError):
    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(f"{len(errors)} bad rows; nothing was imported\n" + "\n".join(map(str, errors)))
