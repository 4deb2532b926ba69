"""The call list's table model: keys of every matching call, rows fetched only when shown.

Anki's browser table (``qt/aqt/browser/table/model.py``) is the example: a search returns the keys of
the matching calls newest first (8 bytes each, so a million fit easily); ``data()`` asks for a row,
and a block of rows around it is read by primary key on the GUI thread (a keyed read of ~100 rows
takes about a millisecond) into a bounded LRU cache. The whole table is never loaded.

The search itself runs in the background through ``mw.op``. Only one search runs at a time; what the
user types meanwhile is remembered and searched when the running one ends, whose (stale) result is
dropped — a generation counter tells the two apart.
"""

from __future__ import annotations

import datetime as dt
import logging
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from app.i18n import N_, _
from app.services import calls
from app.storage.models import OUTCOME_LABELS, Outcome
from ui.operations import show_error

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger("hotline.ui.calls")
SHANGHAI = ZoneInfo("Asia/Shanghai")

BLOCK_SIZE = 100  # rows read at once around the one asked for
CACHE_SIZE = 5_000  # rows kept in memory at most
TOOLTIP_CHARS = 500  # fetch_rows returns at most this much of the question and the answer

AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # stable id, used nowhere user-visible
    title: str  # N_() marked; shown with _()
    width: int  # default width in pixels


COLUMNS: tuple[Column, ...] = (
    Column("started_at", N_("Call time"), 125),
    Column("caller_phone", N_("Phone number"), 135),
    Column("caller_name", N_("Caller"), 70),
    Column("unit", N_("Unit"), 150),
    Column("system", N_("System"), 140),
    Column("module", N_("Module"), 90),
    Column("category", N_("Category"), 70),
    Column("question", N_("Question"), 300),
    Column("outcome", N_("Handling"), 130),
    Column("duration", N_("Duration"), 55),
    Column("engineer", N_("Engineer"), 60),
    Column("revised", N_("Edits"), 50),
)
COLUMN_INDEX: dict[str, int] = {c.name: i for i, c in enumerate(COLUMNS)}

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
CALL_ID_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True, slots=True)
class SearchResult:
    keys: array[int]
    any_calls: bool  # False only when the database holds no call at all (first run)
    unindexed: int = 0  # for a search by words: calls not in the search index yet (a large first sync)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def format_duration(seconds: int) -> str:
    minutes, secs = divmod(max(int(seconds), 0), 60)
    return f"{minutes:02d}:{secs:02d}"


def outcome_label(outcome: str, transferred_to: str = "") -> str:
    try:
        label = _(OUTCOME_LABELS[Outcome(outcome)])
    except ValueError:
        label = outcome
    if outcome == Outcome.TRANSFERRED.value and transferred_to:
        label = f"{label} → {transferred_to}"
    return label


def first_line(text: str) -> str:
    stripped = text.strip()
    line = stripped.split("\n", 1)[0].strip()
    return line + " …" if len(line) < len(stripped) else line


# The first page of a search is shown at once; the complete list of keys follows in the background.
FIRST_PAGE = 500


def _search(mw: MainWindow, query: calls.CallQuery, limit: int | None) -> SearchResult:
    """Runs on the worker: a fresh session, keys only."""
    with mw.ctx.db.session() as session:
        keys = calls.search_keys(session, query, limit=limit)
        any_calls = bool(keys) or bool(calls.search_keys(session, calls.CallQuery(), limit=1))
        unindexed = calls.unindexed_count(session) if query.text.strip() else 0
    return SearchResult(keys, any_calls, unindexed)


class CallListModel(QAbstractTableModel):
    search_started = Signal()
    first_page_shown = Signal()  # the newest matches are on screen; more may follow
    search_finished = Signal(int)  # the number of matching calls

    def __init__(self, mw: MainWindow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mw = mw
        self._keys: array[int] = array("q")
        self._cache: OrderedDict[int, calls.CallRow | None] = OrderedDict()
        self._generation = 0
        self._running = False
        self._pending: calls.CallQuery | None = None
        self.any_calls = True
        self.unindexed = 0
        self.searched_once = False
        self.fetched_rows = 0  # rows read from the database since the last search result (tests watch it)
        self.fetch_count = 0

    # --- searching --------------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return self._running or self._pending is not None

    def search(self, query: calls.CallQuery) -> None:
        """Start a search; a result still on its way for an older query will be dropped."""
        self._generation += 1
        if self._running:
            self._pending = query
            return
        self._start(query)

    def _start(self, query: calls.CallQuery) -> None:
        self._running = True
        generation = self._generation
        self.search_started.emit()
        mw = self.mw
        mw.op(lambda _ctx: _search(mw, query, FIRST_PAGE)).success(
            lambda result: self._first_page(generation, query, result)
        ).failure(lambda error: self._failed(generation, error)).run()

    def _first_page(self, generation: int, query: calls.CallQuery, result: SearchResult) -> None:
        if len(result.keys) < FIRST_PAGE:
            self._finished(generation, result)  # that was all of it
            return
        if self._pending is not None or generation != self._generation:
            self._finished(generation, result)  # superseded: let the newer query run
            return
        self._show(result)
        self.first_page_shown.emit()
        mw = self.mw

        def rest(_ctx: object) -> SearchResult | None:
            if generation != self._generation:
                return None  # the user typed on meanwhile: skip the long part
            return _search(mw, query, None)

        mw.op(rest).success(lambda full: self._rest(generation, full)).failure(
            lambda error: self._failed(generation, error)
        ).run()

    def _rest(self, generation: int, full: SearchResult | None) -> None:
        if self._next() or generation != self._generation or full is None:
            return
        shown = len(self._keys)
        if full.keys[:shown] == self._keys:
            if len(full.keys) > shown:  # keep scroll position and selection: only rows are added
                self.beginInsertRows(QModelIndex(), shown, len(full.keys) - 1)
                self._keys = full.keys
                self.endInsertRows()
        else:  # calls arrived in between: start over with the complete list
            self._show(full)
        self.search_finished.emit(len(self._keys))

    def _next(self) -> bool:
        self._running = False
        if self._pending is not None:
            query, self._pending = self._pending, None
            self._start(query)
            return True
        return False

    def _finished(self, generation: int, result: SearchResult) -> None:
        if self._next() or generation != self._generation:
            return  # the user changed the filters meanwhile
        self._show(result)
        self.first_page_shown.emit()
        self.search_finished.emit(len(self._keys))

    def _show(self, result: SearchResult) -> None:
        self.beginResetModel()
        self._keys = result.keys
        self._cache.clear()
        self.fetched_rows = 0
        self.fetch_count = 0
        self.any_calls = result.any_calls
        self.unindexed = result.unindexed
        self.searched_once = True
        self.endResetModel()

    def _failed(self, generation: int, error: BaseException) -> None:
        if self._next() or generation != self._generation:
            return
        self.search_finished.emit(len(self._keys))
        show_error(self.mw, error)

    # --- rows -------------------------------------------------------------------------------------

    def key_at(self, row: int) -> int | None:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def row_of_key(self, key: int) -> int | None:
        try:
            return self._keys.index(key)
        except ValueError:
            return None

    def call_row(self, row: int) -> calls.CallRow | None:
        key = self.key_at(row)
        if key is None:
            return None
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        self._fetch_around(row)
        return self._cache.get(key)

    def call_id_at(self, row: int) -> str | None:
        call = self.call_row(row)
        return call.id if call is not None else None

    def _fetch_around(self, row: int) -> None:
        start = max(row - BLOCK_SIZE // 4, 0)  # mostly below: people scroll down
        wanted = [k for k in self._keys[start : start + BLOCK_SIZE] if k not in self._cache]
        with self.mw.ctx.db.session() as session:  # closed at once: no read transaction left open
            rows = calls.fetch_rows(session, wanted)
        self.fetch_count += 1
        self.fetched_rows += len(rows)
        for key in wanted:
            self._cache[key] = rows.get(key)  # None: deleted since the search
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    # --- Qt model API -----------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
            and role == Qt.ItemDataRole.DisplayRole
        ):
            return _(COLUMNS[section].title)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == KEY_ROLE:
            return self.key_at(index.row())
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
            CALL_ID_ROLE,
        ):
            return None
        call = self.call_row(index.row())
        if call is None:
            return _("(deleted)") if role == Qt.ItemDataRole.DisplayRole and index.column() == 0 else None
        if role == CALL_ID_ROLE:
            return call.id
        name = COLUMNS[index.column()].name
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(call, name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(call, name)
        if role == Qt.ItemDataRole.ForegroundRole and name == "revised" and call.revision > 1:
            return QColor("#b35900")
        return None

    @staticmethod
    def _display(call: calls.CallRow, name: str) -> str:
        match name:
            case "started_at":
                return format_time(call.started_at)
            case "caller_phone":
                return call.caller_phone
            case "caller_name":
                return call.caller_name
            case "unit":
                return call.unit_name
            case "system":
                return call.system_name
            case "module":
                return call.module_name
            case "category":
                return call.category_name
            case "question":
                return first_line(call.question)
            case "outcome":
                return outcome_label(call.outcome, call.transferred_to)
            case "duration":
                return format_duration(call.duration_s)
            case "engineer":
                return call.engineer
            case "revised":
                return _("Edited") if call.revision > 1 else ""
        return ""

    @staticmethod
    def _tooltip(call: calls.CallRow, name: str) -> str | None:
        if name in ("question", "outcome"):
            parts = [_("Question: {text}").format(text=_clipped(call.question))]
            if call.answer.strip():
                parts.append(_("Answer: {text}").format(text=_clipped(call.answer)))
            return "\n\n".join(parts)
        if name == "revised" and call.revision > 1:
            return _("Edited {count} times; open the call to see the earlier versions.").format(
                count=call.revision - 1
            )
        if name in ("unit", "system", "module"):
            return CallListModel._display(call, name) or None
        return None


def _clipped(text: str) -> str:
    text = text.strip()
    return text + " …" if len(text) >= TOOLTIP_CHARS else text
