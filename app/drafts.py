"""The unfinished call, saved continuously so a crash or power cut loses nothing that was typed.

A draft is a small JSON file written atomically (temp file, fsync, rename) — independent of the
database, so a locked, full or damaged database cannot take the draft with it. The form writes it as
the engineer types; saving the call deletes it; at start-up a leftover draft is offered back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.settings import atomic_write_text

log = logging.getLogger("hotline.drafts")

DRAFT_FILE = "current-call.json"


@dataclass(frozen=True, slots=True)
class Draft:
    call_id: str
    started_at: dt.datetime
    saved_at: dt.datetime
    fields: dict[str, Any]  # the form's fields as typed (strings, ids, numbers)


class DraftStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / DRAFT_FILE

    def save(self, draft: Draft) -> None:
        payload = {
            "call_id": draft.call_id,
            "started_at": draft.started_at.isoformat(),
            "saved_at": draft.saved_at.isoformat(),
            "fields": draft.fields,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(payload, ensure_ascii=False))

    def load(self) -> Draft | None:
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
            return Draft(
                call_id=str(payload["call_id"]),
                started_at=dt.datetime.fromisoformat(payload["started_at"]),
                saved_at=dt.datetime.fromisoformat(payload["saved_at"]),
                fields=dict(payload["fields"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Keep the unreadable file for a person to look at rather than deleting words.
            log.warning("draft %s unreadable: %s", self.path, exc)
            # A unique name: a second unreadable draft must not overwrite the first one.
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            with contextlib.suppress(OSError):
                self.path.replace(self.path.with_name(f"{self.path.stem}.unreadable-{stamp}.json"))
            return None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
