"""Where the shared server is: host, port, database, user and TLS mode, kept in the local settings.

The password is never part of a ``ServerConfig`` that is stored: it lives in the system keyring
(``app.sync.credentials``). A ``postgresql://`` URL (``hotline sync --server URL``) may carry one for
scripts; it is used for that run only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.errors import UserFacingError
from app.i18n import _

SSL_MODES: tuple[str, ...] = ("disable", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 5432
DEFAULT_DATABASE = "hotline"
# A desktop never waits longer than this for the server to answer a connection attempt.
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int = DEFAULT_PORT
    database: str = DEFAULT_DATABASE
    user: str = ""
    sslmode: str = "prefer"
    password: str | None = None  # only ever from a URL given on the command line, never stored

    @property
    def keyring_account(self) -> str:
        """The name the password is filed under in the system keyring."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def display(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def with_password(self, password: str | None) -> ServerConfig:
        return replace(self, password=password)

    def connect_kwargs(self, application_name: str = "hotline") -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "sslmode": self.sslmode,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": application_name,
        }
        if self.password is not None:
            kwargs["password"] = self.password
        return kwargs

    @classmethod
    def from_url(cls, url: str) -> ServerConfig:
        """``postgresql://user[:password]@host[:port]/database[?sslmode=...]``; a clear error otherwise."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise UserFacingError(
                _("“{url}” is not a server address. Write it as postgresql://user@host:5432/hotline.").format(
                    url=_redact(url)
                )
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise UserFacingError(_("The port in “{url}” is not a number.").format(url=_redact(url))) from exc
        query = parse_qs(parts.query)
        sslmode = query.get("sslmode", ["prefer"])[0]
        if sslmode not in SSL_MODES:
            raise UserFacingError(
                _("Unknown TLS mode “{mode}”; use one of {modes}.").format(
                    mode=sslmode, modes=", ".join(SSL_MODES)
                )
            )
        return cls(
            host=parts.hostname,
            port=port,
            database=unquote(parts.path.lstrip("/")) or DEFAULT_DATABASE,
            user=unquote(parts.username or ""),
            sslmode=sslmode,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    @classmethod
    def from_settings(cls, settings: Any) -> ServerConfig | None:
        """The server set in Settings, or None when none is set."""
        host = str(settings["server_host"]).strip()
        if not host:
            return None
        sslmode = str(settings["server_sslmode"])
        return cls(
            host=host,
            port=int(settings["server_port"]),
            database=str(settings["server_database"]).strip() or DEFAULT_DATABASE,
            user=str(settings["server_user"]).strip(),
            sslmode=sslmode if sslmode in SSL_MODES else "prefer",
        )

    def to_settings(self, settings: Any) -> None:
        settings["server_host"] = self.host
        settings["server_port"] = self.port
        settings["server_database"] = self.database
        settings["server_user"] = self.user
        settings["server_sslmode"] = self.sslmode


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
