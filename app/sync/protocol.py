"""What desktop and server agree on: versions, the tables that sync and how each merges, and the
errors a sync can meet, each with a message for the user (see ../shared/design/sync.md).
"""

from __future__ import annotations

from enum import Enum

from app.errors import UserFacingError
from app.i18n import N_, _

# The wire protocol this app speaks. The server lists the range it accepts (``min_protocol`` ..
# ``max_protocol`` in ``hotline.meta``); outside it the desktop keeps working offline and says so.
PROTOCOL_VERSION = 1

SERVER_SCHEMA = "hotline"
# The server schema revision this app needs at least (Alembic, app/sync/server_migrations).
SERVER_SCHEMA_HEAD = "s0005"

# The group role desktops log in under (a member of it): may run the sync functions, nothing else.
APP_ROLE = "hotline_app"
# Its members (besides the app role) may change service-level policies and the calendar (s0003).
SUPERVISOR_ROLE = "hotline_supervisor"


class Kind(Enum):
    DOCUMENT = "document"  # edited: merged field by field, the same field edited twice is a conflict
    FACT = "fact"  # insert-only (call revisions, audit entries, ticket events): never conflicts


# Every synced table, parents before children (the order a first push or a resync walks them).
TABLES: dict[str, Kind] = {
    "sites": Kind.DOCUMENT,
    "systems": Kind.DOCUMENT,
    "modules": Kind.DOCUMENT,
    "categories": Kind.DOCUMENT,
    "organisations": Kind.DOCUMENT,
    "contacts": Kind.DOCUMENT,
    "contact_phones": Kind.DOCUMENT,
    "calls": Kind.DOCUMENT,  # a call is a fact with an edit history: edits merge like documents
    "call_revisions": Kind.FACT,
    "sync_conflicts": Kind.DOCUMENT,  # made by the server's merge, resolved (tombstoned) by a person
    "sla_policies": Kind.DOCUMENT,
    "calendar_years": Kind.DOCUMENT,
    "calendar_days": Kind.DOCUMENT,
    "tickets": Kind.DOCUMENT,  # what people type; status, severity and deadlines come from its events
    "ticket_events": Kind.FACT,
    "ticket_calls": Kind.FACT,
    "kb_articles": Kind.DOCUMENT,  # merged by field, like the directory; versions are facts
    "kb_article_versions": Kind.FACT,
    "kb_images": Kind.FACT,
    "kb_links": Kind.FACT,
    "kb_canned": Kind.DOCUMENT,
    "kb_synonyms": Kind.DOCUMENT,
    "site_letterheads": Kind.DOCUMENT,  # set by a supervisor, merged by field
}


class Problem(Enum):
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    NO_SCHEMA = "no_schema"
    OLD_SCHEMA = "old_schema"
    UPGRADE_APP = "upgrade_app"
    NO_PASSWORD = "no_password"
    PERMISSION = "permission"
    TLS = "tls"
    ANSWER = "answer"
    NOT_CONFIGURED = "not_configured"


_MESSAGES: dict[Problem, str] = {
    Problem.UNREACHABLE: N_(
        "The shared server cannot be reached. You can keep working: changes are kept on this computer "
        "and sent when the server is back."
    ),
    Problem.AUTH: N_("The shared server refused the user name or password. Check them in Settings."),
    Problem.NO_SCHEMA: N_(
        "The shared server's database has not been set up for Hotline Console yet. An administrator "
        "can set it up in Settings → Shared server."
    ),
    Problem.OLD_SCHEMA: N_(
        "The shared server's database is older than this version of Hotline Console. An administrator "
        "must upgrade it (Settings → Shared server). Your changes are kept on this computer."
    ),
    Problem.UPGRADE_APP: N_(
        "The shared server needs a newer version of Hotline Console. Please upgrade the app. You can "
        "keep working: your changes are kept on this computer and sent after the upgrade."
    ),
    Problem.NO_PASSWORD: N_("The password for the shared server is needed. Enter it in Settings."),
    Problem.PERMISSION: N_(
        "The shared server's user lacks a permission Hotline Console needs. Ask the administrator to "
        "set up the user again."
    ),
    Problem.TLS: N_(
        "A secure (TLS) connection to the shared server could not be made. Check the TLS setting or "
        "ask the administrator."
    ),
    Problem.ANSWER: N_(
        "The shared server answered in a way this version does not understand. Nothing was changed; "
        "the details are in the sync log."
    ),
    Problem.NOT_CONFIGURED: N_("No shared server is set. Enter one in Settings → Shared server."),
}


class SyncError(UserFacingError):
    """A sync that could not run, with a message for the user; local work is never affected."""

    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(_(_MESSAGES[problem]), detail)
        self.problem = problem
        self.source_message = _MESSAGES[problem]  # untranslated: the sync log translates when shown

    @property
    def offline(self) -> bool:
        """True when the server is simply out of reach (the status bar says "offline")."""
        return self.problem is Problem.UNREACHABLE
