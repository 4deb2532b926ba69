"""A throwaway PostgreSQL server for the tests and the benchmarks (no pytest in here).

    with PgServer.temporary() as server:           # initdb + start on a free port; removed on exit
        server.create_database("scratch")
        with psycopg.connect(server.admin_url("scratch")) as conn:
            ...

The binaries come from ``HOTLINE_PG_BIN`` if set, else the newest ``/usr/lib/postgresql/*/bin``
(Debian/Ubuntu), else ``initdb``/``pg_ctl``/``postgres`` on PATH; PostgreSQL 13 or newer.

Local (unix socket) connections are trusted; TCP connections need a password. The superuser is
``hotline_admin`` with the password ``admin-secret``; the server listens on 127.0.0.1 only.

initdb and postgres refuse to run as root. As root the server runs as the ``postgres`` system user
(``nobody`` if there is none): its folder is chowned to that user and initdb/pg_ctl run through
``runuser`` (``setpriv`` or ``su`` if runuser is missing). That user must be able to reach the folder,
so every parent of it has to be traversable by others; pytest's tmp folders (``/tmp/pytest-of-root``,
mode 0700) are not. ``PgServer.temporary()`` makes a suitable folder directly under the temp dir.

A server whose owning process died without cleaning up (a killed test run) is stopped and its folder
removed the next time ``PgServer.temporary()`` runs (see ``reap_stale_servers``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.parse
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import psycopg
from psycopg import sql

log = logging.getLogger("hotline.tests.pg")

MIN_MAJOR_VERSION = 13
ADMIN_USER = "hotline_admin"
ADMIN_PASSWORD = "admin-secret"
HOST = "127.0.0.1"
TEMP_PREFIX = "hotline-pg-"
OWNER_FILE = "owner.pid"  # in a folder made by PgServer.temporary(): the pid of the process that owns it
_BINARIES = ("initdb", "pg_ctl", "postgres")
_LOG_NAME = "server.log"
_CONF_NAME = "hotline.conf"
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")

StopMode = Literal["smart", "fast", "immediate"]


class PgServerError(RuntimeError):
    """The server could not be set up, started or stopped (the message has the log's tail)."""


class PgBinariesNotFound(PgServerError):
    """No usable PostgreSQL server binaries (initdb, pg_ctl, postgres) were found."""


# --- finding the binaries -------------------------------------------------------------------------


def _has_binaries(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) and (folder / name).is_file() for name in _BINARIES)


def _version_key(folder: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` → (15,); ``.../9.6/bin`` → (9, 6); unparsable names sort first."""
    try:
        return tuple(int(part) for part in folder.parent.name.split("."))
    except ValueError:
        return (-1,)


def find_pg_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None if there is none.

    ``HOTLINE_PG_BIN`` wins when set; a value without the binaries raises ``PgBinariesNotFound``
    (rather than silently using some other installation).
    """
    configured = os.environ.get("HOTLINE_PG_BIN", "").strip()
    if configured:
        folder = Path(configured).expanduser()
        if not _has_binaries(folder):
            raise PgBinariesNotFound(
                f"HOTLINE_PG_BIN={configured!r} does not contain executable {', '.join(_BINARIES)}"
            )
        return folder
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_binaries(p)), key=_version_key
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    if initdb is not None:
        # Homebrew and friends link the binaries into a common bin folder; try that, then the real one.
        for folder in (Path(initdb).parent, Path(initdb).resolve().parent):
            if _has_binaries(folder):
                return folder
    return None


def server_version(bin_dir: Path) -> tuple[int, str]:
    """(major version, full ``postgres --version`` text) of the binaries in ``bin_dir``."""
    result = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    text = result.stdout.strip()
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", text)
    if result.returncode != 0 or match is None:
        raise PgBinariesNotFound(f"{bin_dir / 'postgres'} --version failed: {text or result.stderr.strip()}")
    return int(match.group(1)), text  # 9.6 → 9: too old either way


# --- running as someone else when root ------------------------------------------------------------


def _service_user() -> pwd.struct_passwd | None:
    """As root: the unprivileged user to run PostgreSQL as (``postgres``, else ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgServerError("running as root, but there is neither a 'postgres' nor a 'nobody' user to run as")


def _run_as_prefix(user: pwd.struct_passwd | None) -> list[str]:
    if user is None:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]
    if shutil.which("su"):
        return []  # handled in _command: su needs the command as one shell string
    raise PgServerError("running as root, but none of runuser, setpriv or su is available")


def _untraversable_parent(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first existing parent of ``path`` (or itself) that ``user`` cannot enter, if any."""
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    for folder in [*reversed(path.parents), path]:
        try:
            st = folder.stat()
        except FileNotFoundError:
            break
        if st.st_uid == user.pw_uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return folder
    return None


# --- stale servers --------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an exited child nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        # /proc/PID/stat: "pid (comm) state ..."; comm may hold spaces and parentheses
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # gone meanwhile (next check says so) or no /proc (macOS)
    return state not in ("Z", "X")


def _postmaster_pid(data_dir: Path) -> int | None:
    """The pid in ``postmaster.pid`` if that process is alive and really is this data dir's server."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return None
    except OSError:
        return pid  # no /proc (macOS): trust the pid file
    return pid if os.fsencode(str(data_dir)) in cmdline else None


def _kill_postmaster(data_dir: Path, timeout: float = 10.0) -> None:
    """Stop a server by signal (SIGQUIT = immediate shutdown, then SIGKILL); for cleanup only."""
    pid = _postmaster_pid(data_dir)
    if pid is None:
        return
    for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.05)


def reap_stale_servers(temp_root: Path | None = None) -> list[Path]:
    """Stop and remove servers made by ``PgServer.temporary()`` whose owning process is gone.

    Only folders named ``hotline-pg-*`` that hold an ``owner.pid`` of a dead process are touched.
    Returns the folders removed.
    """
    root = temp_root if temp_root is not None else Path(tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{TEMP_PREFIX}*"):
        try:
            owner = int((folder / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _pid_alive(owner):
            continue
        log.info("removing the stale server %s (its owner, process %d, is gone)", folder, owner)
        _kill_postmaster(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


_LIVE: weakref.WeakSet[PgServer] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    """A process that exits without calling cleanup() still leaves no server behind."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.cleanup()


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- the server -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgDatabase:
    """One database on a ``PgServer``: its name and the admin URL to reach it."""

    name: str
    url: str
    server: PgServer = field(repr=False, compare=False)

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (admin user, password, host, port, dbname)."""
        return self.server.admin_kwargs(self.name)

    def connect(self, **overrides: Any) -> psycopg.Connection[Any]:
        """A new admin connection to this database (``autocommit=True`` etc. may be passed)."""
        return psycopg.connect(**{**self.kwargs, **overrides})


class PgServer:
    """A private PostgreSQL server in ``base_dir``: ``init()``, ``start()``, ..., ``cleanup()``.

    ``base_dir`` holds ``data/`` (the cluster, with ``server.log``) and ``sock/`` (the unix socket).
    With ``fsync=False`` (the default) durability is traded for speed: fsync, synchronous_commit and
    full_page_writes are off. A fast stop (``stop()``, ``restart()``) still keeps every commit, but an
    immediate one may lose the last fraction of a second of commits (synchronous_commit=off); use
    ``fsync=True`` to test crash recovery. ``timeout`` bounds each initdb/start/stop (seconds);
    ``settings`` adds or overrides server settings (postgresql.conf names).
    """

    admin_user = ADMIN_USER
    admin_password = ADMIN_PASSWORD
    host = HOST

    def __init__(
        self,
        base_dir: Path,
        fsync: bool = False,
        *,
        bin_dir: Path | None = None,
        timeout: float = 60.0,
        settings: dict[str, str | int] | None = None,
    ) -> None:
        found = bin_dir if bin_dir is not None else find_pg_bin()
        if found is None:
            raise PgBinariesNotFound(
                "PostgreSQL server binaries not found: set HOTLINE_PG_BIN, or install PostgreSQL 13+ "
                "(Debian/Ubuntu: apt-get install postgresql)"
            )
        self.bin_dir: Path = found
        self.major_version, self.version_text = server_version(found)
        if self.major_version < MIN_MAJOR_VERSION:
            raise PgBinariesNotFound(
                f"{self.version_text} in {found} is too old: PostgreSQL {MIN_MAJOR_VERSION}+ is needed"
            )
        self.base_dir: Path = Path(base_dir).absolute()
        self.data_dir: Path = self.base_dir / "data"
        self.socket_dir: Path = self.base_dir / "sock"
        self.log_file: Path = self.data_dir / _LOG_NAME
        self.fsync = fsync
        self.timeout = timeout
        self.extra_settings: dict[str, str | int] = dict(settings or {})
        self.port: int | None = None
        self._fixed_port = False
        self._user = _service_user()
        self._prefix = _run_as_prefix(self._user)

    # --- set-up -----------------------------------------------------------------------------------

    @classmethod
    def temporary(cls, fsync: bool = False, **kwargs: Any) -> PgServer:
        """A server in a new ``hotline-pg-*`` folder directly under the temp dir (mode 0755).

        Reaps the servers of dead processes first. The folder goes away with ``cleanup()``.
        """
        reap_stale_servers()
        base = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        try:
            base.chmod(0o755)
            (base / OWNER_FILE).write_text(f"{os.getpid()}\n")
            return cls(base, fsync, **kwargs)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise

    @property
    def run_as(self) -> str | None:
        """The user the server runs as when this process is root (None: runs as ourselves)."""
        return self._user.pw_name if self._user is not None else None

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self) -> None:
        """Run initdb (UTF8, C locale, trust on the socket, scram-sha-256 over TCP)."""
        if self.initialised:
            raise PgServerError(f"{self.data_dir} already holds a cluster")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            blocked = _untraversable_parent(self.base_dir, self._user)
            if blocked is not None:
                raise PgServerError(
                    f"the server runs as {self._user.pw_name!r} (we are root), who cannot enter {blocked} "
                    f"(mode {stat.filemode(blocked.stat().st_mode)}); put the server elsewhere, "
                    f"e.g. PgServer.temporary()"
                )
        self.socket_dir.mkdir(mode=0o755, exist_ok=True)
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(f"{ADMIN_PASSWORD}\n")
        pwfile.chmod(0o600)
        self._give_away(self.base_dir, self.socket_dir, pwfile)
        started = time.monotonic()
        try:
            args = [
                str(self.bin_dir / "initdb"),
                "-D", str(self.data_dir),
                "-U", ADMIN_USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # flushing the new cluster to disk only matters if the OS crashes
            ]  # fmt: skip
            result = self._run(args, timeout=self.timeout)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PgServerError(f"initdb failed (exit {result.returncode}):\n{_output(result)}")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# written by tests/helpers/pgserver.py\ninclude '{_CONF_NAME}'\n")
        self._write_settings()  # so that even a bare `postgres -D` uses the right socket dir
        log.debug("initdb in %.2fs: %s", time.monotonic() - started, self.data_dir)

    def _settings(self) -> dict[str, str | int]:
        settings: dict[str, str | int] = {
            "listen_addresses": HOST,
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": 100,
            "shared_buffers": "128MB",
            "logging_collector": "off",  # pg_ctl -l sends the server's output to data/server.log
            "log_line_prefix": "%m [%p] %q%a %u@%d ",
            "lc_messages": "C",
            "password_encryption": "scram-sha-256",
        }
        if self.port is not None:
            settings["port"] = self.port
        if not self.fsync:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.extra_settings)
        return settings

    def _write_settings(self) -> None:
        lines = []
        for key, value in self._settings().items():
            text = str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
            lines.append(f"{key} = {text}\n")
        path = self.data_dir / _CONF_NAME
        path.write_text("".join(lines))
        self._give_away(path)

    def _give_away(self, *paths: Path) -> None:
        """As root: hand files and folders to the user the server runs as."""
        if self._user is not None:
            for path in paths:
                os.chown(path, self._user.pw_uid, self._user.pw_gid)

    # --- running ----------------------------------------------------------------------------------

    def start(self, port: int | None = None) -> None:
        """Start (initdb first if needed) on 127.0.0.1 and wait until it accepts connections.

        Without ``port`` a free one is picked on the first start (another one if it is taken before the
        server binds it). Once started, the server keeps its port, so URLs handed out stay valid across
        restarts: a restart whose port has been taken meanwhile fails rather than moving.
        """
        if not self.initialised:
            self.init()
        if self.is_running():
            return
        if port is not None:
            self.port, self._fixed_port = port, True
        attempts = 1 if self._fixed_port else 5
        for attempt in range(1, attempts + 1):
            if self.port is None:
                self.port = free_port()
            self._write_settings()
            offset = self._log_size()
            started = time.monotonic()
            result = self._pg_ctl("start", "-l", str(self.log_file))
            if result.returncode == 0 and self.is_running():
                _LIVE.add(self)
                self._fixed_port = True
                log.debug("started on port %d in %.2fs", self.port, time.monotonic() - started)
                return
            new_log = self._log_text(offset)
            self._kill_quietly()
            if attempt < attempts and any(e in new_log for e in _BIND_ERRORS):
                log.debug("port %d was taken; trying another", self.port)
                self.port = None
                continue
            raise PgServerError(
                f"PostgreSQL did not start (pg_ctl exit {result.returncode}, port {self.port}):\n"
                f"{_output(result)}\n--- {self.log_file} (tail) ---\n{self.log_tail()}"
            )

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop and wait until the server has gone; a stopped server is left alone."""
        if not self.is_running():
            return
        result = self._pg_ctl("stop", "-m", mode)
        if result.returncode != 0 or self.is_running():
            raise PgServerError(
                f"PostgreSQL did not stop ({mode}; pg_ctl exit {result.returncode}):\n{_output(result)}\n"
                f"--- {self.log_file} (tail) ---\n{self.log_tail()}"
            )
        log.debug("stopped (%s)", mode)

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop (``mode``) and start again on the same port."""
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        return _postmaster_pid(self.data_dir) is not None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while running."""
        return _postmaster_pid(self.data_dir)

    def cleanup(self) -> None:
        """Stop at once (immediate; by signal if pg_ctl fails) and remove ``base_dir``."""
        _LIVE.discard(self)
        try:
            self.stop("immediate")
        except PgServerError as exc:
            log.debug("immediate stop failed, killing the server: %s", exc)
        finally:
            _kill_postmaster(self.data_dir)
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<PgServer {self.major_version} {state} port={self.port} dir={self.base_dir}>"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log (empty if there is none yet)."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def _log_text(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _kill_quietly(self) -> None:
        with contextlib.suppress(Exception):
            _kill_postmaster(self.data_dir)

    def _pg_ctl(self, action: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / "pg_ctl"), action, "-D", str(self.data_dir), "-w"]
        command += ["-t", str(max(1, round(self.timeout))), *args]
        return self._run(command, timeout=self.timeout + 15)

    def _command(self, args: Sequence[str]) -> list[str]:
        if self._user is not None and not self._prefix:  # only su is available
            return ["su", "-s", "/bin/sh", self._user.pw_name, "-c", "exec " + shlex.join(args)]
        return [*self._prefix, *args]

    def _run(self, args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        command = self._command(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        log.debug("running %s", shlex.join(command))
        try:
            return subprocess.run(
                command,
                cwd=self.base_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            self._kill_quietly()
            raise PgServerError(
                f"{shlex.join(args)} did not finish in {timeout:.0f}s\n"
                f"--- {self.log_file} (tail) ---\n{self.log_tail()}"
            ) from exc

    # --- SQL --------------------------------------------------------------------------------------

    def _need_port(self) -> int:
        if self.port is None:
            raise PgServerError("the server has not been started yet (no port)")
        return self.port

    def admin_url(self, database: str = "postgres") -> str:
        """``postgresql://hotline_admin:admin-secret@127.0.0.1:PORT/DATABASE``."""
        path = urllib.parse.quote(database, safe="")
        return f"postgresql://{ADMIN_USER}:{ADMIN_PASSWORD}@{HOST}:{self._need_port()}/{path}"

    def admin_kwargs(self, database: str = "postgres") -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` as the admin over TCP."""
        return {
            "host": HOST,
            "port": self._need_port(),
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "dbname": database,
            "connect_timeout": 10,
        }

    @contextlib.contextmanager
    def connect(self, database: str = "postgres") -> Iterator[psycopg.Connection[Any]]:
        """An autocommit admin connection, closed afterwards."""
        with psycopg.connect(**self.admin_kwargs(database), autocommit=True) as conn:
            yield conn

    def execute(
        self, query: str | sql.Composable, database: str = "postgres", params: Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the admin (autocommit); the rows it returned, if any."""
        with self.connect(database) as conn, conn.cursor() as cur:
            cur.execute(query, params)  # type: ignore[arg-type]  # str is a fine query at run time
            return cur.fetchall() if cur.description is not None else []

    def create_database(self, name: str) -> PgDatabase:
        """``CREATE DATABASE name`` (owned by the admin); the database's name and admin URL."""
        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database(name)

    def database(self, name: str) -> PgDatabase:
        """An existing database's name and admin URL."""
        return PgDatabase(name=name, url=self.admin_url(name), server=self)

    def drop_database(self, name: str, missing_ok: bool = True) -> None:
        """Terminate the database's connections, then drop it."""
        self.terminate_backends(database=name)
        exists = "IF EXISTS " if missing_ok else ""
        # WITH (FORCE) (13+) also ends connections that slipped in after the terminate
        self.execute(sql.SQL("DROP DATABASE " + exists + "{} WITH (FORCE)").format(sql.Identifier(name)))

    def databases(self) -> list[str]:
        """The names of the databases that accept connections (templates excluded)."""
        rows = self.execute("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")
        return [row[0] for row in rows]

    def terminate_backends(
        self, database: str | None = None, application_name: str | None = None, wait: float = 10.0
    ) -> int:
        """End client connections (``pg_terminate_backend``), optionally only to one database and/or with
        one application_name; never the connection doing it. Waits up to ``wait`` seconds until they have
        gone. Returns how many were terminated."""
        with self.connect() as conn:
            # The CTE is materialised so that the filter runs before any pg_terminate_backend call
            # (the order of ANDed conditions in one WHERE is up to the planner).
            rows = conn.execute(
                """
                WITH victims AS MATERIALIZED (
                    SELECT pid FROM pg_stat_activity
                    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                      AND (%(db)s::text IS NULL OR datname = %(db)s::text)
                      AND (%(app)s::text IS NULL OR application_name = %(app)s::text)
                )
                SELECT pid FROM victims WHERE pg_terminate_backend(pid)
                """,
                {"db": database, "app": application_name},
            ).fetchall()
            pids = [row[0] for row in rows]
            deadline = time.monotonic() + wait
            while pids and time.monotonic() < deadline:
                left = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
                ).fetchone()
                if left is None or left[0] == 0:
                    break
                time.sleep(0.02)
        if pids:
            log.debug("terminated %d backend(s) (database=%s, app=%s)", len(pids), database, application_name)
        return len(pids)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(part.strip() for part in (result.stdout, result.stderr) if part and part.strip())
