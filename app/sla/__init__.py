"""Service-level deadlines (SLA): the pure core, without storage or Qt.

The contract rules this package implements are described in the design note ``sla.md`` (shared design
folder). The modules:

- ``calendar``     -- ``WorkCalendar``: Chinese working days (Mon–Fri minus statutory holidays plus the
                      adjusted working weekends 调休上班), per-date overrides, per-year "confirmed" status,
                      working hours and business-time arithmetic, all in Asia/Shanghai wall time.
- ``notice_csv``   -- import of a year's State Council notice from a small CSV file (date,kind,name).
- ``policy``       -- the generic contract model (``Policy``, ``Rule``, ``Target`` ...) and its JSON form.
- ``contracts``    -- the two contracts the app ships with (Changzhou, Zhanjiang) as ``Policy`` values.
- ``events``       -- the ticket events deadlines are derived from.
- ``deadlines``    -- ``derive_deadlines(events, policies, calendar)``: due times, outcomes and
                      explanations, deterministically from the event history; ``callback_due``.
- ``countdown``    -- ``countdown(target_state, now)``: what a list shows each second (arithmetic only).
- ``formatting``   -- how moments, durations and countdowns are written for people (through app.i18n).

Nothing here reads the clock: every "now" is passed in by the caller.
"""
