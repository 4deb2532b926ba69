"""The unit of work: one session, one transaction, commit or roll back (cosmicpython chapter 6).

Services take a ``UnitOfWork`` and call ``commit()`` when their change is complete; leaving the
``with`` block without committing rolls back. Database errors the environment causes come out of
``commit()`` (and of the block) as ``StorageError`` with a message for the user.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from app.errors import as_storage_error
from app.storage.db import Database


class UnitOfWork:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its with-block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self.db.session()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        # close() rolls back anything uncommitted and detaches the objects *without* expiring them,
        # so rows read inside the block stay readable after it (rollback() would expire them).
        session.close()
        self._session = None
        if isinstance(exc, sa_exc.DBAPIError | sa_exc.OperationalError):
            storage_error = as_storage_error(exc)
            if storage_error is not None:
                raise storage_error from exc

    def commit(self) -> None:
        self.session.commit()
