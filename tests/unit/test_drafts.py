"""The unfinished-call draft (app.drafts) and what survives a killed process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.context import open_context
from app.drafts import DRAFT_FILE, Draft, DraftStore
from app.services import calls
from app.storage.models import Call

CST = dt.timezone(dt.timedelta(hours=8))
TEXT = "单位反映：财政票据核销时提示“票号不连续”，已指导重新导入。"


def make_draft(**fields: object) -> Draft:
    return Draft(
        call_id="01900000-0000-7000-8000-000000000001",
        started_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=CST),
        saved_at=dt.datetime(2026, 3, 2, 9, 31, 5, tzinfo=CST),
        fields={"question": TEXT, "caller_phone": "0519-86661234", "duration_s": 65, **fields},
    )


def test_save_load_round_trip(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    assert store.load() is None
    draft = make_draft()
    store.save(draft)
    assert store.load() == draft


def test_save_replaces_the_previous_draft(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save(make_draft(question="first"))
    store.save(make_draft(question="second"))
    loaded = store.load()
    assert loaded is not None
    assert loaded.fields["question"] == "second"


def test_discard_removes_the_draft(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save(make_draft())
    store.discard()
    assert store.load() is None
    store.discard()  # discarding twice is fine


def test_a_leftover_temp_file_does_not_break_load(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save(make_draft())
    # what a crash between "write temp file" and "rename" leaves behind
    (tmp_path / f".{DRAFT_FILE}.abc123.tmp").write_text('{"call_id": "half-writ', encoding="utf-8")
    loaded = store.load()
    assert loaded is not None
    assert loaded.fields["question"] == TEXT
    store.save(make_draft(question="later"))
    reloaded = store.load()
    assert reloaded is not None
    assert reloaded.fields["question"] == "later"


def test_a_crash_before_the_rename_keeps_the_previous_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DraftStore(tmp_path)
    store.save(make_draft(question="saved earlier"))

    def crash(src: str, dst: str) -> None:
        raise OSError("crash before rename")

    monkeypatch.setattr("app.settings.os.replace", crash)
    with pytest.raises(OSError):
        store.save(make_draft(question="being written"))
    monkeypatch.undo()
    loaded = store.load()
    assert loaded is not None
    assert loaded.fields["question"] == "saved earlier"


@pytest.mark.allow_warnings
@pytest.mark.parametrize(
    "content",
    [
        '{"call_id": "x", "started_at": "2026-03-02T09:30:00+08:00", "fields": {"question": "' + TEXT,
        '{"call_id": "x", "started_at": "not a time", "saved_at": "2026", "fields": {}}',
        '["a", "list"]',
        '{"call_id": "x"}',
    ],
    ids=["truncated", "bad-time", "a-list", "missing-fields"],
)
def test_an_unreadable_draft_is_moved_aside_not_deleted(tmp_path: Path, content: str) -> None:
    store = DraftStore(tmp_path)
    store.path.write_text(content, encoding="utf-8")
    assert store.load() is None
    kept = [p for p in tmp_path.iterdir() if p.name != DRAFT_FILE]
    assert len(kept) == 1
    assert kept[0].read_text(encoding="utf-8") == content  # every word still there
    assert not store.path.exists()  # the next start does not stumble over it again
    store.save(make_draft())
    assert store.load() == make_draft()


@pytest.mark.allow_warnings
def test_two_unreadable_drafts_are_both_kept(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.path.write_text('{"fields": {"question": "第一次的问题', encoding="utf-8")
    assert store.load() is None
    store.path.write_text('{"fields": {"question": "第二次的问题', encoding="utf-8")
    assert store.load() is None
    kept = sorted(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert kept == ['{"fields": {"question": "第一次的问题', '{"fields": {"question": "第二次的问题']


# --- killed processes -----------------------------------------------------------------------------


def _run_and_get_killed(code: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode("utf-8", "replace")


def test_draft_survives_the_process_being_killed_mid_call(tmp_path: Path) -> None:
    folder = tmp_path / "drafts"
    _run_and_get_killed(
        f"""
        import datetime as dt, os, signal
        from pathlib import Path
        from app.drafts import Draft, DraftStore
        store = DraftStore(Path({str(folder)!r}))
        now = dt.datetime.now(dt.timezone.utc)
        store.save(Draft("01900000-0000-7000-8000-000000000002", now, now, {{"question": {TEXT!r}}}))
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        tmp_path,
    )
    draft = DraftStore(folder).load()
    assert draft is not None
    assert draft.fields["question"] == TEXT
    assert draft.call_id == "01900000-0000-7000-8000-000000000002"


def test_a_recorded_call_survives_the_process_being_killed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _run_and_get_killed(
        f"""
        import datetime as dt, os, signal
        from app.context import open_context
        from app.services import calls, reference
        ctx = open_context({str(data)!r})
        with ctx.uow() as uow:
            site = reference.list_sites(uow.session)[0]
            category = reference.list_categories(uow.session)[0]
            calls.record_call(uow, calls.CallInput(
                site_id=site.id, started_at=dt.datetime.now(dt.timezone.utc), engineer="张工",
                caller_phone="0519-86661234", category_id=category.id, question={TEXT!r}))
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no checkpoint: only the commit protects it
        """,
        tmp_path,
    )
    ctx = open_context(str(data))
    try:
        with ctx.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 1
            assert session.scalar(select(Call.question)) == TEXT
            assert list(calls.search_keys(session, calls.CallQuery(text="核销")))
    finally:
        ctx.close()


def test_draft_json_is_plain_readable_text(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save(make_draft())
    raw = json.loads(store.path.read_text(encoding="utf-8"))
    assert raw["fields"]["question"] == TEXT
    assert TEXT in store.path.read_text(encoding="utf-8")
