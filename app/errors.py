"""Two kinds of error (see STYLE.md, qutebrowser's sql.py).

Errors the environment causes — a locked, read-only or full disk, a damaged database file, a network
or server that is down — become a ``UserFacingError`` with a plain-language message; the UI shows it
and keeps whatever the user typed. Anything else is a bug of ours and goes to the crash handler.
"""

from __future__ import annotations

import sqlite3
from enum import Enum

from sqlalchemy import exc as sa_exc

from app.i18n import N_, _


class StorageProblem(Enum):
    LOCKED = "locked"
    READ_ONLY = "read_only"
    DISK_FULL = "disk_full"
    CORRUPT = "corrupt"
    CANNOT_OPEN = "cannot_open"
    IO = "io"
    NEWER_SCHEMA = "newer_schema"


_STORAGE_MESSAGES: dict[StorageProblem, str] = {
    StorageProblem.LOCKED: N_(
        "The database is busy (locked by another program). Nothing was lost; please try again in a moment."
    ),
    StorageProblem.READ_ONLY: N_(
        "The database file is read-only, so the change could not be saved. What you typed is kept; "
        "check the folder's permissions or choose another data folder."
    ),
    StorageProblem.DISK_FULL: N_(
        "The disk is full, so the change could not be saved. What you typed is kept; free some space "
        "and save again."
    ),
    StorageProblem.CORRUPT: N_(
        "The database file is damaged. Nothing more will be written to it; restore it from the backups "
        "folder or contact your administrator."
    ),
    StorageProblem.CANNOT_OPEN: N_(
        "The database file cannot be opened. Check that the data folder exists and is writable."
    ),
    StorageProblem.NEWER_SCHEMA: N_(
        "This database was written by a newer version of Hotline Console. Please upgrade the app; the "
        "database has not been changed."
    ),
    StorageProblem.IO: N_("The disk reported a read/write error. What you typed is kept; please try again."),
}


class UserFacingError(Exception):
    """An error with a message fit for the user (already translated when raised)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class StorageError(UserFacingError):
    def __init__(self, problem: StorageProblem, detail: str = "") -> None:
        super().__init__(_(_STORAGE_MESSAGES[problem]), detail)
        self.problem = problem


class ValidationError(UserFacingError):
    """Input that cannot be saved; ``fields`` maps a field name to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(_("Please correct the highlighted fields."), "; ".join(fields.values()))
        self.fields = fields


def classify_storage_error(error: BaseException) -> StorageProblem | None:
    """Which environment problem a database exception stands for, or None if it looks like our bug."""
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    if not isinstance(original, sqlite3.Error | sa_exc.DBAPIError):
        return None
    text = str(original).lower()
    if "locked" in text or "busy" in text:
        return StorageProblem.LOCKED
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StorageProblem.READ_ONLY
    if "disk is full" in text or "database or disk is full" in text:
        return StorageProblem.DISK_FULL
    if "malformed" in text or "not a database" in text or "file is encrypted" in text:
        return StorageProblem.CORRUPT
    if "unable to open" in text:
        return StorageProblem.CANNOT_OPEN
    if "disk i/o error" in text:
        return StorageProblem.IO
    return None


def as_storage_error(error: BaseException) -> StorageError | None:
    problem = classify_storage_error(error)
    return StorageError(problem, str(error)) if problem is not None else None
