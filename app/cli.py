"""The ``hotline`` command: the window, demo data, calls, tickets and knowledge-base articles in and out.

    hotline [--data-dir DIR] [--lang zh_CN|en]                       start the window
    hotline demo --calls N [--contacts M] [--seed S] [--months K]    add sample data (no outbox)
    hotline import calls FILE [--site CODE_OR_NAME] [--dry-run]      import a ledger (.xlsx / .csv)
    hotline export calls [--format csv|xlsx] -o FILE [--from DATE] [--to DATE] [--site CODE]
    hotline import tickets FILE [--site CODE_OR_NAME] [--dry-run]    carry open tickets over (.xlsx / .csv)
    hotline export tickets [--format csv|xlsx] [-o FILE] [--site S] [--from DATE] [--to DATE] [--all|--open]
    hotline kb search QUERY… [--site S] [--limit N] [--all] [--json] search articles, tickets and calls
    hotline kb import PATH [--site CODE_OR_NAME] [--dry-run]         import articles (Markdown folder / .xlsx)
    hotline kb export -o PATH [--format md|xlsx] [--site S] [--status STATUS …]   export articles
    hotline kb reindex                                               rebuild the knowledge-base search index
    hotline sync [--server URL]                                      sync with the shared server now
    hotline report ledger|summary|faults|call ID|ticket NUMBER -o FILE.pdf|.xlsx|.csv
                   [--month YYYY-MM | --year YYYY | --from DATE --to DATE] [--site S]
    hotline server init|upgrade|status|mark-restored --server URL    administer the shared server
    hotline server add-user NAME --server URL --password-stdin       a login for a desktop
                                    [--supervisor]                   … that may change contract rules

Every command takes ``--data-dir`` (default: ``$HOTLINE_DATA_DIR``, else the user data folder) and
``--lang``. Exit codes: 0 done; 1 the file has bad rows (or a folder bad files), so nothing was
imported; 2 a problem of the environment or of the given file, explained on stderr; 3 a bug of ours
(a crash report is written); 130 interrupted (Ctrl+C); 141 the output's reader went away (``| head``).

No PySide6 here: the window's module is imported only when the window is asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import __version__, i18n
from app.context import AppContext, open_context
from app.errors import UserFacingError, as_storage_error
from app.i18n import _
from app.logs import write_crash_report
from app.paths import resolve_data_dir

MAX_PRINTED_PROBLEMS = 200
PROGRESS_EVERY = 50_000
IMPORT_PROGRESS_EVERY = 10_000
TICKET_PROGRESS_EVERY = 500
KB_PROGRESS_EVERY = 200
SNIPPET_WIDTH = 60
EXIT_OK, EXIT_BAD_ROWS, EXIT_USER_ERROR, EXIT_BUG = 0, 1, 2, 3


class _Run:
    """What one command opened (the data folder), closed whatever happens."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ctx: AppContext | None = None

    def open(self) -> AppContext:
        if self.ctx is None:
            self.ctx = open_context(self.args.data_dir)
            if self.args.lang:  # --lang beats the language in the settings
                i18n.set_language(self.args.lang)
        return self.ctx

    def crash_dir(self) -> Path:
        if self.ctx is not None:
            return self.ctx.paths.crash_reports
        return resolve_data_dir(self.args.data_dir).crash_reports

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None


Handler = Callable[[argparse.Namespace, _Run], int]


def _now() -> dt.datetime:
    """The clock of the ticket commands (tests set their own)."""
    return dt.datetime.now(dt.UTC)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _out(text: str) -> None:
    print(text, flush=True)


# --- argument types -------------------------------------------------------------------------------


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.replace(",", "").replace("_", ""))
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                _("expected a whole number of at least {minimum}, got “{value}”").format(
                    minimum=minimum, value=text
                )
            )
        return value

    return parse


def _month(text: str) -> tuple[int, int]:
    parts = text.replace("/", "-").replace(".", "-").split("-")
    try:
        year, month = int(parts[0]), int(parts[1])
        dt.date(year, month, 1)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            _("expected a month as YYYY-MM, got “{value}”").format(value=text)
        ) from None
    return year, month


def _day(text: str) -> dt.date:
    from app.importexport.calls_io import CellError, parse_date

    try:
        return parse_date(text)[0]
    except CellError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# --- the parser -----------------------------------------------------------------------------------


def _common_options(parser: argparse.ArgumentParser, top_level: bool) -> None:
    # On sub-commands the default is SUPPRESS, so "hotline --data-dir X demo" keeps X.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help=_("data folder (default: $HOTLINE_DATA_DIR, else the user data folder)"),
    )
    parser.add_argument(
        "--lang",
        choices=sorted(i18n.LANGUAGES),
        default=default,
        help=_("language of messages (default: the one chosen in the settings, else zh_CN)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description=_("Hotline Console: without a command, opens the window."),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_options(parser, top_level=True)
    parser.set_defaults(handler=_cmd_gui)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help=_("add realistic sample data (units, contacts, calls)"),
        description=_(
            "Add realistic sample data: units, contacts with phone numbers and calls spread over the "
            "last months. Sample data is local only: it writes no outbox entries and is never synced, "
            "so use a separate data folder."
        ),
    )
    _common_options(demo, top_level=False)
    demo.add_argument("--calls", type=_count(0), required=True, help=_("number of calls"))
    demo.add_argument(
        "--contacts", type=_count(1), help=_("number of contacts (default: calls / 20, at most 50,000)")
    )
    demo.add_argument("--seed", type=int, default=7, help=_("random seed; the same seed gives the same data"))
    demo.add_argument(
        "--months", type=_count(1), default=12, help=_("spread the calls over this many months")
    )
    demo.set_defaults(handler=_cmd_demo)

    import_ = commands.add_parser("import", help=_("import data from a file"))
    _common_options(import_, top_level=False)
    import_kinds = import_.add_subparsers(dest="kind", metavar="KIND", required=True)
    import_calls = import_kinds.add_parser(
        "calls",
        help=_("import a call ledger (.xlsx or .csv)"),
        description=_(
            "Import a call ledger (.xlsx or .csv; columns as described in docs/import-format.md). "
            "Every row is checked first: if any row is wrong, nothing is imported."
        ),
    )
    _common_options(import_calls, top_level=False)
    import_calls.add_argument("file", metavar="FILE", help=_("the ledger file"))
    import_calls.add_argument(
        "--site",
        metavar="CODE_OR_NAME",
        help=_("service site for rows without one (default: the current site)"),
    )
    import_calls.add_argument("--dry-run", action="store_true", help=_("only check the file, import nothing"))
    import_calls.set_defaults(handler=_cmd_import_calls)
    import_tickets = import_kinds.add_parser(
        "tickets",
        help=_("carry open tickets over from a spreadsheet (.xlsx or .csv)"),
        description=_(
            "Carry tickets over from a spreadsheet (.xlsx or .csv; columns 站点, 标题, 单位, 来电人, 电话, "
            "系统, 模块, 类别, 严重程度, 处理方式, 处理人, 报告时间, 状态 and, where known, 响应时间, "
            "转现场时间, 到场时间, 挂起时间, 恢复时间, 解决时间, 关闭时间). The history is replayed, so "
            "deadlines and outcomes are derived as for tickets made in the app. Every row is checked "
            "first: if any row is wrong, nothing is imported."
        ),
    )
    _common_options(import_tickets, top_level=False)
    import_tickets.add_argument("file", metavar="FILE", help=_("the tickets file"))
    import_tickets.add_argument(
        "--site",
        metavar="CODE_OR_NAME",
        help=_("service site for rows without one (default: the current site)"),
    )
    import_tickets.add_argument(
        "--dry-run", action="store_true", help=_("only check the file, import nothing")
    )
    import_tickets.set_defaults(handler=_cmd_import_tickets)

    export = commands.add_parser("export", help=_("export data to a file"))
    _common_options(export, top_level=False)
    export_kinds = export.add_subparsers(dest="kind", metavar="KIND", required=True)
    export_calls = export_kinds.add_parser(
        "calls",
        help=_("export calls as a ledger (.xlsx or .csv)"),
        description=_("Export calls in the import layout, so that the file can be imported again."),
    )
    _common_options(export_calls, top_level=False)
    export_calls.add_argument(
        "--format", choices=("csv", "xlsx"), help=_("file format (default: from the file name, else csv)")
    )
    export_calls.add_argument("-o", "--output", metavar="FILE", required=True, help=_("the file to write"))
    export_calls.add_argument(
        "--from",
        dest="date_from",
        metavar="DATE",
        type=_day,
        help=_("first day (inclusive), e.g. 2024-01-01"),
    )
    export_calls.add_argument(
        "--to", dest="date_to", metavar="DATE", type=_day, help=_("last day (inclusive), e.g. 2024-12-31")
    )
    export_calls.add_argument("--site", metavar="CODE", help=_("only this service site (default: all sites)"))
    export_calls.set_defaults(handler=_cmd_export_calls)
    export_tickets = export_kinds.add_parser(
        "tickets",
        help=_("export tickets with their deadlines and outcomes (.xlsx or .csv)"),
        description=_(
            "Export one row per ticket: its details, status and history, and for each target (response, "
            "on-site arrival, resolution) the due time, why it is due then, and whether it was met. "
            "Open tickets exported this way can be imported again."
        ),
    )
    _common_options(export_tickets, top_level=False)
    export_tickets.add_argument(
        "--format", choices=("csv", "xlsx"), help=_("file format (default: from the file name, else csv)")
    )
    export_tickets.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=_("the file to write (default: tickets-<today>.csv or .xlsx in the current folder)"),
    )
    export_tickets.add_argument(
        "--from",
        dest="date_from",
        metavar="DATE",
        type=_day,
        help=_("first day the tickets were reported (inclusive), e.g. 2026-01-01"),
    )
    export_tickets.add_argument(
        "--to",
        dest="date_to",
        metavar="DATE",
        type=_day,
        help=_("last day the tickets were reported (inclusive), e.g. 2026-12-31"),
    )
    export_tickets.add_argument(
        "--site", metavar="CODE_OR_NAME", help=_("only this service site (default: all sites)")
    )
    which = export_tickets.add_mutually_exclusive_group()
    which.add_argument(
        "--all", dest="open_only", action="store_false", help=_("open and finished tickets (the default)")
    )
    which.add_argument("--open", dest="open_only", action="store_true", help=_("only open tickets"))
    export_tickets.set_defaults(handler=_cmd_export_tickets, open_only=False)

    _kb_parser(commands)

    sync = commands.add_parser(
        "sync",
        help=_("sync with the shared server now"),
        description=_(
            "Send this computer's changes to the shared server and fetch everyone else's. Without "
            "--server, the server set in Settings is used, with the password from the system keyring "
            "(or $PGPASSWORD)."
        ),
    )
    _common_options(sync, top_level=False)
    sync.add_argument("--server", metavar="URL", help=_("postgresql://user[:password]@host:port/database"))
    sync.set_defaults(handler=_cmd_sync)

    server = commands.add_parser(
        "server",
        help=_("administer the shared server"),
        description=_(
            "For the administrator: create or upgrade the shared server's schema, create desktop logins, "
            "mark a server restored from a backup. --server names an administrator's login; the password "
            "may be in the URL or in $PGPASSWORD."
        ),
    )
    _common_options(server, top_level=False)
    server.add_argument(
        "action",
        choices=("init", "upgrade", "status", "add-user", "mark-restored"),
        help=_("init or upgrade the schema, show its status, add a desktop login, mark a restored server"),
    )
    server.add_argument("name", nargs="?", metavar="NAME", help=_("the login to create (add-user)"))
    server.add_argument("--server", metavar="URL", required=True, help=_("an administrator's server URL"))
    server.add_argument(
        "--password-stdin", action="store_true", help=_("read the new login's password from standard input")
    )
    server.add_argument(
        "--supervisor",
        action="store_true",
        help=_("add-user: the login may change service-level policies and the working-day calendar"),
    )
    server.set_defaults(handler=_cmd_server)
    return parser


def _kb_parser(commands: Any) -> None:
    from app.services.kb import ARTICLE_STATUSES

    kb = commands.add_parser(
        "kb",
        help=_("the knowledge base: search, import, export, rebuild the search index"),
        description=_("The knowledge base (运维知识库) from the command line."),
    )
    _common_options(kb, top_level=False)
    actions = kb.add_subparsers(dest="action", metavar="ACTION", required=True)

    search = actions.add_parser(
        "search",
        help=_("search articles, tickets and calls"),
        description=_(
            "Search the knowledge base as the window's search box does: articles first (best first), "
            "then tickets and earlier calls. Whatever is typed is searched as text. Put -- before a "
            "query that starts with a hyphen."
        ),
    )
    _common_options(search, top_level=False)
    search.add_argument("query", nargs="+", metavar="QUERY", help=_("the words to look for"))
    search.add_argument(
        "--site", metavar="CODE_OR_NAME", help=_("only this site's articles and those for every site")
    )
    search.add_argument(
        "--limit", type=_count(1), default=10, help=_("at most this many articles, tickets and calls each")
    )
    search.add_argument("--all", action="store_true", help=_("archived articles too"))
    search.add_argument("--json", action="store_true", help=_("print the hits as JSON, for scripts"))
    search.set_defaults(handler=_cmd_kb_search)

    import_ = actions.add_parser(
        "import",
        help=_("import articles from a folder of Markdown files or an .xlsx file"),
        description=_(
            "Import articles from a folder of Markdown (.md) files, pictures included, or from an .xlsx "
            "sheet (formats in docs/import-format.md). An article of the same title at the same site is "
            "updated, so importing the same files again changes nothing. Every file or row is checked "
            "first: if any is wrong, nothing is imported."
        ),
    )
    _common_options(import_, top_level=False)
    import_.add_argument("path", metavar="PATH", help=_("a folder of Markdown files, or an .xlsx file"))
    import_.add_argument(
        "--site",
        metavar="CODE_OR_NAME",
        help=_("site of the articles that name none (default: for every site)"),
    )
    import_.add_argument("--dry-run", action="store_true", help=_("only check the files, import nothing"))
    import_.set_defaults(handler=_cmd_kb_import)

    export = actions.add_parser(
        "export",
        help=_("export articles as a folder of Markdown files or an .xlsx file"),
        description=_(
            "Export the articles so that they can be imported again: as a folder of Markdown files with "
            "their pictures, or as one .xlsx sheet (which holds no pictures)."
        ),
    )
    _common_options(export, top_level=False)
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        required=True,
        help=_("the folder (new or empty) or the .xlsx file to write"),
    )
    export.add_argument(
        "--format",
        choices=("md", "xlsx"),
        help=_("md (a folder) or xlsx (default: xlsx for a name ending in .xlsx, else md)"),
    )
    export.add_argument(
        "--site", metavar="CODE_OR_NAME", help=_("only this site's articles and those for every site")
    )
    export.add_argument(
        "--status",
        dest="statuses",
        nargs="+",
        action="extend",
        choices=tuple(ARTICLE_STATUSES),
        help=_("only articles of these statuses (default: all)"),
    )
    export.set_defaults(handler=_cmd_kb_export)

    reindex = actions.add_parser(
        "reindex",
        help=_("rebuild the knowledge-base search index"),
        description=_("Index every article and ticket for the knowledge-base search again."),
    )
    _common_options(reindex, top_level=False)
    reindex.set_defaults(handler=_cmd_kb_reindex)

    report = commands.add_parser(
        "report",
        help=_("print a document to a PDF (or its figures to .xlsx / .csv)"),
        description=_(
            "Write one of the documents the window prints, as an A4 PDF with the site's letterhead, for "
            "scheduled month-end reports: the call ledger, the service report (a month, a year or any "
            "period), the fault analysis, one call's record sheet or one ticket's sheet. An output "
            "ending in .xlsx or .csv gets the document's figures instead."
        ),
    )
    _common_options(report, top_level=False)
    report.add_argument(
        "kind",
        choices=["ledger", "summary", "faults", "call", "ticket"],
        metavar="ledger|summary|faults|call|ticket",
        help=_("the document"),
    )
    report.add_argument(
        "record", nargs="?", metavar="ID", help=_("for call and ticket: the call's id or the ticket's number")
    )
    report.add_argument("--from", dest="date_from", type=_day, metavar="DATE", help=_("first day (included)"))
    report.add_argument("--to", dest="date_to", type=_day, metavar="DATE", help=_("last day (included)"))
    report.add_argument(
        "--month", type=_month, metavar="YYYY-MM", help=_("a calendar month (instead of --from/--to)")
    )
    report.add_argument("--year", type=_count(2000), metavar="YYYY", help=_("a calendar year"))
    report.add_argument("--site", metavar="CODE_OR_NAME", help=_("the site (default: this desktop's site)"))
    report.add_argument("-o", "--output", required=True, metavar="FILE", help=_("FILE.pdf, .xlsx or .csv"))
    report.set_defaults(handler=_cmd_report)


def _early_language(argv: Sequence[str]) -> None:
    """Pick the language before the parser is built, so that --help is translated too."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--data-dir")
    early.add_argument("--lang")
    known, _rest = early.parse_known_args(argv)
    language = known.lang
    if language not in i18n.LANGUAGES:
        # Quietly: logging is not set up yet, and open_context reports a damaged settings file anyway.
        try:
            saved = json.loads(resolve_data_dir(known.data_dir).settings_file.read_text(encoding="utf-8"))
            language = saved.get("language") if isinstance(saved, dict) else None
        except (OSError, ValueError):
            language = None
    i18n.set_language(language if isinstance(language, str) else i18n.DEFAULT_LANGUAGE)


# --- commands -------------------------------------------------------------------------------------


def _cmd_gui(args: argparse.Namespace, run: _Run) -> int:
    try:
        from ui.app import run_gui  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("PySide6", "shiboken6")):
            raise
        raise UserFacingError(
            _("The window cannot start because PySide6 is not installed: {error}").format(error=exc)
        ) from exc
    return int(run_gui(args.data_dir, args.lang))


def _cmd_demo(args: argparse.Namespace, run: _Run) -> int:
    from app.demo import generate_demo

    ctx = run.open()
    contacts = args.contacts or min(50_000, max(20, args.calls // 20))
    _err(
        _("Generating demo data in {folder}: {calls:,} calls from {contacts:,} contacts …").format(
            folder=ctx.paths.root, calls=args.calls, contacts=contacts
        )
    )
    printed = 0

    def progress(done: int, total: int) -> None:
        nonlocal printed
        if done - printed >= PROGRESS_EVERY or done == total:
            printed = done
            _err(_("{done:,} of {total:,} calls written").format(done=done, total=total))

    summary = generate_demo(ctx, args.calls, contacts, seed=args.seed, months=args.months, progress=progress)
    _out(
        _(
            "Demo data added: {units:,} units, {contacts:,} contacts, {phones:,} phone numbers and "
            "{calls:,} calls in {seconds:.1f} s."
        ).format(
            units=summary.organisations,
            contacts=summary.contacts,
            phones=summary.phones,
            calls=summary.calls,
            seconds=summary.seconds,
        )
    )
    return EXIT_OK


def _site_id(ctx: AppContext, wanted: str) -> str:
    from app.services.reference import list_sites
    from app.services.reference_names import name_key

    with ctx.db.session() as session:
        sites = list_sites(session, include_inactive=True)
    for site in sites:
        if name_key(wanted) in (name_key(site.code), name_key(site.name)):
            return site.id
    raise UserFacingError(
        _("Unknown service site “{name}”. Valid sites: {names}.").format(
            name=wanted, names="、".join(f"{s.name} ({s.code})" for s in sites)
        )
    )


def _cmd_import_calls(args: argparse.Namespace, run: _Run) -> int:
    from app.importexport.calls_io import LedgerFileError, read_ledger
    from app.services.call_import import import_calls, resolve_entries

    path = Path(args.file)
    ledger = read_ledger(path)  # before opening the data: a wrong file costs nothing
    if ledger.ignored_headers:
        _err(_("Columns not imported: {names}").format(names="、".join(ledger.ignored_headers)))
    if not ledger.entries:
        raise LedgerFileError(_("{path} has a header row but no calls.").format(path=path))
    ctx = run.open()
    site_id = _site_id(ctx, args.site) if args.site else ctx.current_site_id()
    with ctx.uow() as uow:
        plan = resolve_entries(uow.session, ledger.entries, site_id, ctx.engineer)
        problems = sorted(ledger.problems + plan.problems, key=lambda p: p.row)
        if problems:
            for problem in problems[:MAX_PRINTED_PROBLEMS]:
                _err(str(problem))
            if len(problems) > MAX_PRINTED_PROBLEMS:
                _err(_("… and {count} more problems.").format(count=len(problems) - MAX_PRINTED_PROBLEMS))
            _err(
                _(
                    "{bad} of {total} rows have problems, so nothing was imported. Correct them and "
                    "import the file again."
                ).format(bad=len({p.row for p in problems}), total=len(ledger.entries))
            )
            return EXIT_BAD_ROWS
        if args.dry_run:
            _out(
                _("Checked {count} calls: all can be imported. Nothing was imported (--dry-run).").format(
                    count=len(plan.inputs)
                )
            )
            return EXIT_OK
        printed = 0

        def progress(done: int, total: int) -> None:
            nonlocal printed
            if done - printed >= IMPORT_PROGRESS_EVERY:
                printed = done
                _err(_("{done:,} of {total:,} calls imported …").format(done=done, total=total))

        count = import_calls(uow, plan.inputs, progress)
    _out(_("Imported {count} calls.").format(count=count))
    return EXIT_OK


def _cmd_export_calls(args: argparse.Namespace, run: _Run) -> int:
    from app.importexport.calls_io import LOCAL_TZ, write_ledger
    from app.importexport.export_file import XLSX_MAX_ROWS
    from app.services.call_import import iter_ledger_entries
    from app.services.calls import CallQuery, count_calls

    output = Path(args.output)
    file_format = args.format or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
    if args.date_from and args.date_to and args.date_to < args.date_from:
        raise UserFacingError(_("The last day (--to) is before the first day (--from)."))
    ctx = run.open()
    query = CallQuery(
        site_id=_site_id(ctx, args.site) if args.site else None,
        date_from=dt.datetime.combine(args.date_from, dt.time(), LOCAL_TZ) if args.date_from else None,
        date_to=(
            dt.datetime.combine(args.date_to + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
            if args.date_to
            else None
        ),
    )
    with ctx.db.session() as session:
        total = count_calls(session, query)
        if file_format == "xlsx" and total >= XLSX_MAX_ROWS:
            raise UserFacingError(
                _(
                    "More than {limit} calls do not fit in one Excel sheet; export CSV or a shorter period."
                ).format(limit=XLSX_MAX_ROWS - 1)
            )

        def progress(done: int) -> None:
            _err(_("{done:,} of {total:,} calls written").format(done=done, total=total))

        result = write_ledger(output, iter_ledger_entries(session, query), file_format, progress)
    if result.truncated_cells:
        _err(
            _(
                "{count} texts were longer than an Excel cell holds (32,767 characters) and were cut; "
                "export CSV for the complete texts."
            ).format(count=result.truncated_cells)
        )
    _out(_("Exported {count} calls to {path}.").format(count=result.rows, path=output))
    return EXIT_OK


def _cmd_import_tickets(args: argparse.Namespace, run: _Run) -> int:
    from app.importexport.tickets_io import TicketFileError, read_tickets
    from app.services.ticket_import import import_tickets

    path = Path(args.file)
    found = read_tickets(path)  # before opening the data: a wrong file costs nothing
    if found.ignored_headers:
        _err(_("Columns not imported: {names}").format(names="、".join(found.ignored_headers)))
    if not found.entries:
        raise TicketFileError(_("{path} has a header row but no tickets.").format(path=path))
    ctx = run.open()
    site_id = _site_id(ctx, args.site) if args.site else ctx.current_site_id()
    printed = 0

    def progress(done: int, total: int) -> None:
        nonlocal printed
        if done - printed >= TICKET_PROGRESS_EVERY:
            printed = done
            _err(_("{done:,} of {total:,} tickets checked …").format(done=done, total=total))

    with ctx.uow() as uow:
        result = import_tickets(
            uow,
            found.entries,
            site_id,
            ctx.engineer,
            _now(),
            progress,
            commit=not args.dry_run and not found.problems,
        )
    problems = sorted(found.problems + result.problems, key=lambda p: p.row)
    if problems:
        for problem in problems[:MAX_PRINTED_PROBLEMS]:
            _err(str(problem))
        if len(problems) > MAX_PRINTED_PROBLEMS:
            _err(_("… and {count} more problems.").format(count=len(problems) - MAX_PRINTED_PROBLEMS))
        _err(
            _(
                "{bad} of {total} rows have problems, so nothing was imported. Correct them and "
                "import the file again."
            ).format(bad=len({p.row for p in problems}), total=len(found.entries))
        )
        return EXIT_BAD_ROWS
    if args.dry_run:
        _out(
            _("Checked {count} tickets: all can be imported. Nothing was imported (--dry-run).").format(
                count=result.checked
            )
        )
        return EXIT_OK
    _out(_("Imported {count} tickets.").format(count=result.imported))
    return EXIT_OK


def _cmd_export_tickets(args: argparse.Namespace, run: _Run) -> int:
    from app.importexport.calls_io import LOCAL_TZ
    from app.importexport.tickets_io import write_tickets
    from app.services.ticket_import import TicketQuery, iter_ticket_entries

    if args.date_from and args.date_to and args.date_to < args.date_from:
        raise UserFacingError(_("The last day (--to) is before the first day (--from)."))
    now = _now().replace(second=0, microsecond=0)  # "overdue by" to the minute, as the times are
    if args.output:
        output = Path(args.output)
        file_format = args.format or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
    else:
        file_format = args.format or "csv"
        output = Path(f"tickets-{now.astimezone(LOCAL_TZ):%Y-%m-%d}.{file_format}")
    ctx = run.open()
    query = TicketQuery(
        site_id=_site_id(ctx, args.site) if args.site else None,
        reported_from=dt.datetime.combine(args.date_from, dt.time(), LOCAL_TZ) if args.date_from else None,
        reported_to=(
            dt.datetime.combine(args.date_to + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
            if args.date_to
            else None
        ),
        open_only=args.open_only,
    )

    def progress(done: int) -> None:
        _err(_("{done:,} tickets written …").format(done=done))

    with ctx.db.session() as session:
        result = write_tickets(output, iter_ticket_entries(session, query, now), file_format, progress)
    if result.truncated_cells:
        _err(
            _(
                "{count} texts were longer than an Excel cell holds (32,767 characters) and were cut; "
                "export CSV for the complete texts."
            ).format(count=result.truncated_cells)
        )
    _out(_("Exported {count} tickets to {path}.").format(count=result.rows, path=output))
    return EXIT_OK


def _print_problems(problems: Sequence[str]) -> None:
    for problem in problems[:MAX_PRINTED_PROBLEMS]:
        _err(problem)
    if len(problems) > MAX_PRINTED_PROBLEMS:
        _err(_("… and {count} more problems.").format(count=len(problems) - MAX_PRINTED_PROBLEMS))


def _cmd_kb_search(args: argparse.Namespace, run: _Run) -> int:
    from app.search.kb import KbFilters
    from app.services import kb
    from app.services.reference import list_systems
    from app.services.tickets import get_ticket

    text = " ".join(args.query)
    ctx = run.open()
    statuses = tuple(kb.ARTICLE_STATUSES) if args.all else KbFilters().statuses
    filters = KbFilters(site_id=_site_id(ctx, args.site) if args.site else None, statuses=statuses)
    hits: list[dict[str, Any]] = []
    with ctx.db.session() as session:
        found = kb.search_everything(session, text, filters, limit=args.limit, other_limit=args.limit)
        systems = {s.id: s.name for s in list_systems(session, None, include_inactive=True)}
        for article in found.articles:
            hits.append(
                {
                    "kind": "article",
                    "id": article.id,
                    "title": article.title,
                    "status": article.status,
                    "status_label": kb.status_label(article.status),
                    "system": systems.get(article.system_id or "", ""),
                    "snippet": article.snippet.text(),
                    "score": round(article.score, 4),
                }
            )
        for ticket in found.tickets:
            view = get_ticket(session, ticket.id)
            status = view.status if view is not None else None
            hits.append(
                {
                    "kind": "ticket",
                    "id": ticket.id,
                    "number": ticket.number,
                    "title": ticket.title,
                    "status": status.value if status is not None else "",
                    "status_label": status.label() if status is not None else "",
                    "system": systems.get(view.ticket.system_id or "", "") if view is not None else "",
                    "snippet": ticket.snippet.text(),
                }
            )
        for call in found.calls:
            hits.append(
                {
                    "kind": "call",
                    "id": call.id,
                    "started_at": call.started_at.isoformat(),
                    "title": call.unit_name,
                    "snippet": call.snippet.text(),
                }
            )
    for rank, hit in enumerate(hits, start=1):
        hit["rank"] = rank
    if args.json:
        _out(json.dumps(hits, ensure_ascii=False, indent=2))
    else:
        for hit in hits:
            _out(_search_line(hit))
    if not hits:
        _err(_("No matches for “{query}”.").format(query=text))
    return EXIT_OK


def _search_line(hit: dict[str, Any]) -> str:
    """One hit as one plain-text line: rank, kind, title, status and system, the marked snippet."""
    from app.importexport.calls_io import LOCAL_TZ

    kinds = {"article": _("article"), "ticket": _("ticket"), "call": _("call")}
    if hit["kind"] == "call":
        moment = dt.datetime.fromisoformat(hit["started_at"]).astimezone(LOCAL_TZ)
        title = _("call on {moment}").format(moment=f"{moment:%Y-%m-%d %H:%M}")
        if hit["title"]:
            title += f" {hit['title']}"
    elif hit["kind"] == "ticket":
        title = f"{hit['number']} {hit['title']}"
    else:
        title = hit["title"]
    about = " · ".join(x for x in (hit.get("status_label", ""), hit.get("system", "")) if x)
    snippet = " ".join(hit["snippet"].split())
    parts = [f"{hit['rank']:>2}.", f"[{kinds[hit['kind']]}]", title]
    if about:
        parts.append(f"({about})")
    line = " ".join(parts)
    return f"{line} — {snippet}" if snippet else line


def _cmd_kb_import(args: argparse.Namespace, run: _Run) -> int:
    from app.services.kb_transfer import import_found, read_path

    found = read_path(Path(args.path))  # before opening the data: a wrong file costs nothing
    ctx = run.open()
    site_id = _site_id(ctx, args.site) if args.site else None
    printed = 0

    def progress(done: int, total: int) -> None:
        nonlocal printed
        if done - printed >= KB_PROGRESS_EVERY:
            printed = done
            _err(_("{done:,} of {total:,} articles checked …").format(done=done, total=total))

    with ctx.uow() as uow:
        result = import_found(
            uow, found, ctx.engineer, _now(), default_site_id=site_id, dry_run=args.dry_run, progress=progress
        )
    problems = result.problems
    if problems:
        _print_problems(problems)
        _err(
            _(
                "{count} problems in {total} articles, so nothing was imported. Correct them and import "
                "again."
            ).format(count=len(problems), total=result.checked)
        )
        return EXIT_BAD_ROWS
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    if args.dry_run:
        _out(
            _(
                "Checked {count} articles: {created} would be new, {updated} updated, {unchanged} "
                "unchanged. Nothing was imported (--dry-run)."
            ).format(count=result.checked, **counts)
        )
        return EXIT_OK
    _out(
        _("Imported {count} articles: {created} new, {updated} updated, {unchanged} unchanged.").format(
            count=result.checked, **counts
        )
    )
    return EXIT_OK


def _cmd_kb_export(args: argparse.Namespace, run: _Run) -> int:
    from app.importexport.kb_io import write_markdown_folder, write_xlsx
    from app.services.kb_transfer import export_records

    output = Path(args.output)
    file_format = args.format or ("xlsx" if output.suffix.lower() == ".xlsx" else "md")
    ctx = run.open()
    site_id = _site_id(ctx, args.site) if args.site else None
    with ctx.db.session() as session:
        records = export_records(session, site_id, args.statuses)
    if file_format == "xlsx":
        write_xlsx(records, output)
        pictured = sum(1 for r in records if r.images)
        if pictured:
            _err(
                _(
                    "{count} articles have pictures, which a sheet cannot hold; export Markdown (--format "
                    "md) to keep them."
                ).format(count=pictured)
            )
    else:
        write_markdown_folder(records, output)
    _out(_("Exported {count} articles to {path}.").format(count=len(records), path=output))
    return EXIT_OK


def _cmd_kb_reindex(args: argparse.Namespace, run: _Run) -> int:
    from app.services import kb_index

    ctx = run.open()
    indexed = 0

    def progress(done: int, total: int) -> None:
        nonlocal indexed
        indexed = done
        _err(_("{done:,} of {total:,} articles and tickets indexed …").format(done=done, total=total))

    kb_index.rebuild_database(ctx.db, progress)
    _out(
        _("The knowledge-base search index was rebuilt: {count} articles and tickets.").format(count=indexed)
    )
    return EXIT_OK


def _report_period(args: argparse.Namespace) -> tuple[dt.date | None, dt.date | None]:
    from app.reports import documents

    given = [bool(args.month), bool(args.year), bool(args.date_from or args.date_to)]
    if sum(given) > 1:
        raise UserFacingError(_("Give the period one way: --month, --year, or --from and --to."))
    if args.month:
        return documents.month_period(*args.month)
    if args.year:
        return documents.year_period(args.year)
    if args.kind in ("ledger", "summary", "faults") and not (args.date_from and args.date_to):
        raise UserFacingError(_("Give the period: --month YYYY-MM, --year YYYY, or --from and --to."))
    return args.date_from, args.date_to


def _report_record(ctx: AppContext, kind: str, record: str | None) -> str:
    if kind not in ("call", "ticket"):
        if record:
            raise UserFacingError(_("Only call and ticket take an ID."))
        return ""
    if not record:
        raise UserFacingError(_("Give the call's id or the ticket's number."))
    if kind == "ticket":
        from sqlalchemy import select

        from app.storage.models import Ticket

        with ctx.db.session() as session:
            found = session.scalar(select(Ticket.id).where(Ticket.number == record.strip().upper()))
        return str(found) if found else record.strip()
    return record.strip()


def _cmd_report(args: argparse.Namespace, run: _Run) -> int:
    from app.reports import documents
    from app.reports.tables import write_csv, write_xlsx

    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".pdf", ".xlsx", ".csv"):
        raise UserFacingError(_("The output must end in .pdf, .xlsx or .csv."))
    date_from, date_to = _report_period(args)
    ctx = run.open()
    request = documents.ReportRequest(
        documents.ReportKind(args.kind),
        site_id=_site_id(ctx, args.site) if args.site else ctx.current_site_id(),
        date_from=date_from,
        date_to=date_to,
        record_id=_report_record(ctx, args.kind, args.record),
    )
    shown = -1

    def progress(done: int, total: int) -> None:
        nonlocal shown
        percent = done * 100 // total if total else 0
        if percent >= shown + 10:
            shown = percent
            _err(_("{percent}% …").format(percent=percent))

    built = documents.build_report(ctx, request, _now(), progress)
    if suffix == ".pdf":
        try:
            output.write_bytes(built.pdf)
        except OSError as exc:
            raise UserFacingError(
                _("{path} could not be written: {error}").format(path=output, error=exc.strerror or exc)
            ) from exc
        _out(
            _("Wrote {title} to {path}: {pages} pages.").format(
                title=built.title, path=output, pages=built.pages
            )
        )
    else:
        (write_xlsx if suffix == ".xlsx" else write_csv)(built.sheets, output)
        _out(_("Wrote the figures of {title} to {path}.").format(title=built.title, path=output))
    return EXIT_OK


def _server_from(args: argparse.Namespace, ctx: AppContext) -> Any:
    import os

    from app.sync.config import ServerConfig
    from app.sync.protocol import Problem, SyncError

    config: ServerConfig | None = (
        ServerConfig.from_url(args.server) if args.server else ServerConfig.from_settings(ctx.settings)
    )
    if config is None:
        raise SyncError(Problem.NOT_CONFIGURED)
    if config.password is None and not os.environ.get("PGPASSWORD"):
        from app.sync.credentials import PasswordStore

        config = config.with_password(PasswordStore().get(config))
    return config


def _cmd_sync(args: argparse.Namespace, run: _Run) -> int:
    from app.sync.engine import SyncEngine

    ctx = run.open()
    engine = SyncEngine(ctx.db, _server_from(args, ctx), client_name=ctx.engineer)
    shown = [0.0]

    def progress(done: int, total: int, label: str) -> None:
        import time

        if time.monotonic() - shown[0] >= 1.0:
            shown[0] = time.monotonic()
            _err(f"{label} {done:,}" + (f" / {total:,}" if total else ""))

    try:
        report = engine.sync(progress)
    finally:
        engine.close()
    _out(
        _("Sent {pushed}, received {pulled}, refused {rejected}.").format(
            pushed=report.pushed, pulled=report.pulled, rejected=report.rejected
        )
    )
    if report.conflicts:
        _out(_("{count} new conflict(s) to look at in the sync window.").format(count=report.conflicts))
    _index_queued_calls(ctx.db, progress)
    return EXIT_OK


def _index_queued_calls(db: Any, progress: Callable[[int, int, str], None]) -> None:
    """A large first sync leaves the calls' search index to be written afterwards (in the window, in
    the background); a script gets it complete before the command returns."""
    from app.services import call_index

    label = _("Indexing for search…")
    written = call_index.index_backlog(db, lambda done, total: progress(done, total, label))
    if written:
        _out(_("{count} calls indexed for search.").format(count=f"{written:,}"))


def _cmd_server(args: argparse.Namespace, run: _Run) -> int:
    from app.sync import admin
    from app.sync.config import ServerConfig

    config = ServerConfig.from_url(args.server)
    if args.action in ("init", "upgrade"):
        before, head = admin.server_schema_status(config)
        admin.init_or_upgrade(config)
        if before == head:
            _out(_("The server schema is already at {revision}.").format(revision=head))
        else:
            _out(_("The server schema is now at {revision}.").format(revision=head))
    elif args.action == "status":
        current, head = admin.server_schema_status(config)
        _out(
            _("Server schema: {current}; this app needs {head}.").format(
                current=current or _("not set up"), head=head
            )
        )
    elif args.action == "add-user":
        if not args.name:
            raise UserFacingError(_("Name the login to create: hotline server add-user NAME --server URL"))
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            import getpass

            password = getpass.getpass(_("Password for {name}: ").format(name=args.name))
        admin.create_app_user(config, args.name, password, supervisor=args.supervisor)
        if args.supervisor:
            _out(_("Login {name} can now sync, as a supervisor.").format(name=args.name))
        else:
            _out(_("Login {name} can now sync.").format(name=args.name))
    else:
        epoch = admin.mark_restored(config)
        _out(
            _("Marked as restored (epoch {epoch}): every desktop resyncs at its next sync.").format(
                epoch=epoch
            )
        )
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    _early_language(arguments)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed why)
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    handler: Handler = args.handler
    run = _Run(args)
    try:
        return handler(args, run)
    except UserFacingError as exc:
        _err(exc.message)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _err(_("Interrupted."))
        return 130
    except BrokenPipeError:  # the reader went away (`hotline kb search … | head`): stop, as Unix tools do
        with contextlib.suppress(OSError):  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped that way
    except Exception as exc:
        storage_error = as_storage_error(exc)
        if storage_error is not None:  # a database problem outside a unit of work (demo's bulk load)
            _err(storage_error.message)
            return EXIT_USER_ERROR
        report = write_crash_report(
            run.crash_dir(), type(exc), exc, exc.__traceback__, context="hotline " + " ".join(arguments)
        )
        if report is not None:
            _err(
                _(
                    "Something went wrong inside Hotline Console. A report was written to {path}; "
                    "please send it to your support contact."
                ).format(path=report)
            )
        else:
            _err(_("Something went wrong inside Hotline Console, and no report could be written."))
        return EXIT_BUG
    finally:
        run.close()


if __name__ == "__main__":
    sys.exit(main())
