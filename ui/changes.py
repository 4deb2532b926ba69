"""What an operation changed, so each view refreshes only what it shows (Anki's OpChanges)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OpChanges:
    calls: bool = False
    directory: bool = False
    reference: bool = False
    settings: bool = False
    tickets: bool = False  # tickets, their events, SLA policies or the working-day calendar
    kb: bool = False  # knowledge-base articles, canned answers or search synonyms

    def any(self) -> bool:
        return self.calls or self.directory or self.reference or self.settings or self.tickets or self.kb


NO_CHANGES = OpChanges()
