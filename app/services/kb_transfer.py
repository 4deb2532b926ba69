"""Knowledge-base articles in and out of files: ``ArticleRecord``s (``app.importexport.kb_io``) to
articles and back.

``import_records`` resolves each record's site, system and module names (by name or code, as the call
and ticket imports do), checks it as the article service would, and saves it through that service
(``kb.create_article`` / ``kb.save_article``: versions, images, search index, outbox entries through
the unit of work), all in one transaction: if any record has a problem, or the import is cancelled,
nothing is saved. Re-importing the same files duplicates nothing: an article of the same title (case,
width and spaces folded) at the same site is updated with a new version when the file differs from it,
and left alone when equal.

Images: a record's texts reference its pictures as ``kbimg:<name>`` (``record.images`` maps a name to
the bytes). On import each picture becomes an image of the article under a new id — or, for an
article being updated, the id of its own image holding the same bytes — and the references are
rewritten to those ids. ``export_records`` gives the articles as records with the image ids as names,
so that ``write_markdown_folder``/``write_xlsx`` then ``read_*`` then ``import_records`` gives equal
articles again (a sheet holds no pictures: their references stay as they are).

Cancelling follows the app's other long jobs (``kb_index.rebuild``, ``call_index.index_backlog``, the
sync): ``cancelled()`` is asked before each record and before the commit, and a cancelled import rolls
back and returns ``KbImportResult(cancelled=True)``. In the window's background operation that is
``progress=ctx.progress, cancelled=lambda: ctx.cancelled`` of its ``OpContext``, the work raising
``ui.operations.Cancelled`` on such a result so that no success is announced.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import UserFacingError, ValidationError
from app.i18n import _
from app.ids import uuid7
from app.importexport.kb_io import (
    COLUMNS,
    IMAGE_SCHEME,
    ArticleRecord,
    ReadResult,
    image_mime,
    image_name,
    read_markdown_folder,
    read_xlsx,
)
from app.services import kb, kb_index
from app.services.reference import list_modules, list_sites, list_systems
from app.services.reference_names import ReferenceNames, find_named, not_found
from app.storage.models import KbArticle, KbImage, Module, Site, System
from app.storage.uow import UnitOfWork

# A reference ``kbimg:<name>``: names are content hashes (files read) or image ids (exports).
_IMAGE_REF = re.compile(re.escape(IMAGE_SCHEME) + r"([A-Za-z0-9_.-]+)")
# The service's field names -> the file's column / front-matter key, which messages name.
_HEADERS = {column.field: column.header for column in COLUMNS}
_FIELD_HEADERS = {
    "title": _HEADERS["title"],
    "symptom": _HEADERS["symptom"],
    "cause": _HEADERS["cause"],
    "solution": _HEADERS["solution"],
    "kind": _HEADERS["type"],
    "status": _HEADERS["status"],
    "site": _HEADERS["site"],
    "system": _HEADERS["system"],
    "module": _HEADERS["module"],
    "tags": _HEADERS["tags"],
}
EXPORT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class KbImportResult:
    """What ``import_records`` did (for a dry run: would do). With problems, or when cancelled, nothing
    was saved and the counts are 0. ``checked`` is the number of records looked at."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False
    dry_run: bool = False

    @property
    def saved(self) -> bool:
        """Whether the import was committed."""
        return not (self.problems or self.cancelled or self.dry_run)


def title_key(title: str) -> str:
    """How titles are compared to find the article a record updates: width and case folded, runs of
    white space as one (as ``kb_io`` finds duplicate titles in a folder)."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def _located(where: str, problem: str) -> str:
    return _("{where}: {problem}").format(where=where, problem=problem)


class _OneTransaction(UnitOfWork):
    """The import's unit of work as the article service sees it: its commit only flushes, so the whole
    import stays one transaction that ``import_records`` commits, or rolls back, at the end."""

    def __init__(self, outer: UnitOfWork) -> None:
        super().__init__(outer.db)
        self._outer = outer

    @property
    def session(self) -> Session:
        return self._outer.session

    def commit(self) -> None:
        self._outer.session.flush()


# --- resolving names ------------------------------------------------------------------------------


def _resolve_place(
    ref: ReferenceNames, site: Site | None, record: ArticleRecord, problems: list[str]
) -> tuple[System | None, Module | None]:
    """The record's system and module: at its site, or, for an article of every site, at whichever
    site has them (it must be one)."""
    if site is not None:
        return ref.resolve_system_module(site, record.system, record.module, problems)
    system_name, module_name = record.system.strip(), record.module.strip()
    if system_name:
        found = [
            (s, system)
            for s in ref.sites
            if isinstance(system := find_named(ref.systems(s.id), system_name), System)
        ]
        if not found:
            names = list(dict.fromkeys(x.name for s in ref.sites for x in ref.systems(s.id) if x.active))
            problems.append(
                not_found(
                    _("Unknown system “{name}”. Valid systems: {names}."),
                    _("Unknown system “{name}”."),
                    names,
                    name=system_name,
                )
            )
            return None, None
        if len({system.id for _s, system in found}) > 1:
            problems.append(
                _("The system “{name}” exists at several sites; fill in the site (站点).").format(
                    name=system_name
                )
            )
            return None, None
        return ref.resolve_system_module(found[0][0], system_name, module_name, problems)
    if not module_name:
        return None, None
    matches: dict[str, tuple[System | None, Module | None]] = {}
    for s in ref.sites:
        scratch: list[str] = []
        system, module = ref.resolve_system_module(s, "", module_name, scratch)
        if module is not None and not scratch:
            matches[module.id] = (system, module)
    if len(matches) == 1:
        return next(iter(matches.values()))
    if matches:
        problems.append(
            _("The module “{name}” exists in several systems; fill in the system (系统).").format(
                name=module_name
            )
        )
    else:
        problems.append(_("Unknown module “{name}”.").format(name=module_name))
    return None, None


def _input_of(
    ref: ReferenceNames, record: ArticleRecord, default_site: Site | None, problems: list[str]
) -> kb.ArticleInput | None:
    if record.site.strip():
        site = ref.resolve_site(record.site, "", "", problems)
        if site is None:
            return None
    else:
        site = default_site
    system, module = _resolve_place(ref, site, record, problems)
    if problems:
        return None
    return kb.ArticleInput(
        title=record.title,
        symptom=record.symptom,
        cause=record.cause,
        solution=record.solution,
        site_id=site.id if site is not None else None,
        system_id=system.id if system is not None else None,
        module_id=module.id if module is not None else None,
        tags=list(record.tags),
        kind=record.type,
        status=record.status,
    )


def _validation_messages(session: Session, data: kb.ArticleInput) -> list[str]:
    try:
        kb._validate(session, data)
    except ValidationError as exc:
        return [
            _("{what}: {reason}").format(what=_FIELD_HEADERS[name], reason=text)
            if name in _FIELD_HEADERS
            else text
            for name, text in exc.fields.items()
        ]
    return []


# --- images ---------------------------------------------------------------------------------------


def _referenced(texts: Iterable[str]) -> set[str]:
    return {match[1] for text in texts for match in _IMAGE_REF.finditer(text)}


def _rewrite(text: str, ids: dict[str, str]) -> str:
    return _IMAGE_REF.sub(lambda m: IMAGE_SCHEME + ids[m[1]] if m[1] in ids else m[0], text)


def _plan_images(
    session: Session, record: ArticleRecord, article_id: str | None
) -> tuple[dict[str, str], list[kb.NewImage]]:
    """Record image name -> the id it gets, and the images to add. An article being updated keeps its
    own image of the same bytes; the same picture twice in a record is one image."""
    wanted = _referenced((record.symptom, record.cause, record.solution))
    kept: dict[str, str] = {}
    if article_id is not None and any(name in record.images for name in wanted):
        kept = {
            image_name(data): image_id
            for image_id, (_mime, data) in kb.images_of(session, article_id).items()
        }
    ids: dict[str, str] = {}
    new: list[kb.NewImage] = []
    for name, data in record.images.items():
        if name not in wanted:
            continue
        digest = image_name(data)
        if digest not in kept:
            image = kb.NewImage(uuid7(), image_mime(data) or "application/octet-stream", data)
            new.append(image)
            kept[digest] = image.id
        ids[name] = kept[digest]
    return ids, new


# --- importing ------------------------------------------------------------------------------------


def _differs(article: KbArticle, data: kb.ArticleInput) -> bool:
    """Whether saving ``data`` (cleaned) would change the article: what ``kb.save_article`` compares."""
    values = asdict(data)
    values["tags"] = ",".join(data.tags)
    return any(getattr(article, name) != values[name] for name in kb.ARTICLE_FIELDS)


def _existing(session: Session) -> dict[tuple[str, str | None], str]:
    """(title key, site id) -> the id of the article an import updates (the oldest of equal titles)."""
    found: dict[tuple[str, str | None], str] = {}
    rows = session.execute(
        select(KbArticle.id, KbArticle.title, KbArticle.site_id)
        .where(KbArticle.deleted.is_(False))
        .order_by(KbArticle.created_at, KbArticle.id)
    )
    for article_id, title, site_id in rows:
        found.setdefault((title_key(title), site_id), article_id)
    return found


@dataclass(slots=True)
class _Planned:
    """A record checked: its input (cleaned, image references rewritten), the article it updates (None:
    a new one), the images to add, and whether saving would change anything."""

    data: kb.ArticleInput
    article: KbArticle | None
    images: list[kb.NewImage]
    changes: bool


def _plan(
    session: Session,
    ref: ReferenceNames,
    record: ArticleRecord,
    default_site: Site | None,
    existing: dict[tuple[str, str | None], str],
    seen: dict[tuple[str, str | None], str],
    problems: list[str],
) -> _Planned | None:
    """Resolve and check one record as the service would; its problems (without the place) appended."""
    found = _input_of(ref, record, default_site, problems)
    if found is None:
        return None
    data = kb._clean(found)
    problems.extend(_validation_messages(session, data))
    if problems:
        return None
    key = (title_key(data.title), data.site_id)
    if key in seen:
        problems.append(
            _("The title “{title}” is also used by {other}.").format(title=data.title, other=seen[key])
        )
        return None
    seen[key] = record.source
    article_id = existing.get(key)
    ids, images = _plan_images(session, record, article_id)
    try:
        kb._check_images(images)
    except ValidationError as exc:
        problems.extend(exc.fields.values())
        return None
    data.symptom, data.cause, data.solution = (
        _rewrite(t, ids) for t in (data.symptom, data.cause, data.solution)
    )
    article = session.get(KbArticle, article_id) if article_id is not None else None
    return _Planned(data, article, images, article is None or _differs(article, data))


def import_records(
    uow: UnitOfWork,
    records: Sequence[ArticleRecord],
    author: str,
    now: dt.datetime,
    *,
    default_site_id: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> KbImportResult:
    """Import the records as articles in one transaction: all of them or, on any problem, none.

    A record without a site gets ``default_site_id`` (None: the article is for every site). Each
    problem is a translated sentence naming the record's ``source``. An article of the same title at
    the same site is updated (a new version) when the record differs from it, else left alone.
    Records are saved as they are checked, until the first problem; from then on they are only
    checked, and at the end everything is rolled back. ``dry_run`` checks everything and writes
    nothing. ``progress(done, total)`` is called after each record; ``cancelled()`` is asked before
    each one (and before the commit), and when it says so everything is rolled back.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now: a naive datetime cannot be placed in time")
    session = uow.session
    ref = ReferenceNames(session)
    default_site: Site | None = None
    if default_site_id is not None:
        default_site = ref.site_by_id(default_site_id)
        if default_site is None:
            raise ValueError(f"default_site_id: no site {default_site_id!r}")
    service = _OneTransaction(uow)
    existing = _existing(session)
    seen: dict[tuple[str, str | None], str] = {}  # key -> source of the record that had it first
    problems: list[str] = []
    created = updated = unchanged = done = 0
    for done, record in enumerate(records, start=1):
        if cancelled is not None and cancelled():
            session.rollback()
            return KbImportResult(checked=done - 1, cancelled=True, dry_run=dry_run)
        messages: list[str] = []
        planned = _plan(session, ref, record, default_site, existing, seen, messages)
        problems.extend(_located(record.source, message) for message in messages)
        if planned is not None:
            write = not dry_run and not problems
            if planned.article is None:
                created += 1
                if write:
                    kb.create_article(service, planned.data, author, now, planned.images)
            elif planned.changes:
                updated += 1
                if write:
                    saved = kb.save_article(
                        service, planned.article.id, planned.data, author, now, planned.images
                    )
                    if saved is None:  # it rolled the import back: never, as _differs compares what it does
                        raise RuntimeError("save_article found no change where _differs did")
            else:
                unchanged += 1
        if progress is not None:
            progress(done, len(records))
    if cancelled is not None and cancelled():
        session.rollback()
        return KbImportResult(checked=done, cancelled=True, dry_run=dry_run)
    if problems:
        session.rollback()
        return KbImportResult(checked=done, problems=problems, dry_run=dry_run)
    if dry_run:
        session.rollback()
    else:
        uow.commit()
    return KbImportResult(created, updated, unchanged, done, dry_run=dry_run)


def read_path(path: Path) -> ReadResult:
    """The articles of a folder of Markdown files or of an .xlsx sheet (``app.importexport.kb_io``).

    Raises ``UserFacingError`` when the path is missing, of another kind, or holds no article."""
    if not path.exists():
        raise UserFacingError(_("{path} does not exist.").format(path=path))
    if path.is_dir():
        found = read_markdown_folder(path)
    elif path.suffix.lower() == ".xlsx":
        found = read_xlsx(path)
    else:
        raise UserFacingError(
            _("{path} is neither a folder of Markdown files nor an .xlsx file.").format(path=path)
        )
    if not found.records and not found.problems:
        raise UserFacingError(_("{path} holds no articles.").format(path=path))
    return found


def import_found(
    uow: UnitOfWork,
    found: ReadResult,
    author: str,
    now: dt.datetime,
    *,
    default_site_id: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> KbImportResult:
    """``import_records`` of what ``read_path`` found, its problems reported with the import's own:
    with any, every record is still checked (each problem said once) and nothing is saved."""
    records = [
        r for r in found.records if not any(p.startswith(_located(r.source, "")) for p in found.problems)
    ]
    result = import_records(
        uow,
        records,
        author,
        now,
        default_site_id=default_site_id,
        dry_run=dry_run or bool(found.problems),
        progress=progress,
        cancelled=cancelled,
    )
    if found.problems:
        # every record read counts as checked, those the reader already found a problem in too
        problems = found.problems + result.problems
        return replace(result, problems=problems, dry_run=dry_run, checked=len(found.records))
    return result


# --- exporting ------------------------------------------------------------------------------------


def _images(session: Session, article_ids: Sequence[str]) -> dict[str, dict[str, bytes]]:
    """Article id -> its images (id -> bytes), damaged ones left out."""
    found: dict[str, dict[str, bytes]] = {}
    rows = session.execute(
        select(KbImage.article_id, KbImage.id, KbImage.data).where(
            KbImage.article_id.in_(list(article_ids)), KbImage.deleted.is_(False)
        )
    )
    for article_id, image_id, data in rows:
        try:
            found.setdefault(article_id, {})[image_id] = base64.b64decode(data, validate=False)
        except ValueError:
            continue  # shows as missing in the app too
    return found


def export_records(
    session: Session, site_id: str | None = None, statuses: Sequence[str] | None = None
) -> list[ArticleRecord]:
    """The articles (not deleted ones) as records, oldest first: a site by its code, systems and modules
    by name, the pictures the texts reference with their image ids as names. ``site_id`` keeps that
    site's articles and those for every site; ``statuses`` keeps articles of those statuses."""
    stmt = select(KbArticle).where(KbArticle.deleted.is_(False))
    if site_id is not None:
        stmt = stmt.where(or_(KbArticle.site_id == site_id, KbArticle.site_id.is_(None)))
    if statuses is not None:
        stmt = stmt.where(KbArticle.status.in_(list(statuses)))
    articles = list(session.scalars(stmt.order_by(KbArticle.created_at, KbArticle.id)))
    sites = {s.id: s.code for s in list_sites(session, include_inactive=True)}
    systems = {s.id: s.name for s in list_systems(session, None, include_inactive=True)}
    modules = {m.id: m.name for m in list_modules(session, None, include_inactive=True)}
    records: list[ArticleRecord] = []
    for start in range(0, len(articles), EXPORT_CHUNK):
        chunk = articles[start : start + EXPORT_CHUNK]
        images = _images(session, [a.id for a in chunk])
        for article in chunk:
            wanted = _referenced((article.symptom, article.cause, article.solution))
            records.append(
                ArticleRecord(
                    title=article.title,
                    symptom=article.symptom,
                    cause=article.cause,
                    solution=article.solution,
                    system=systems.get(article.system_id or "", ""),
                    module=modules.get(article.module_id or "", ""),
                    site=sites.get(article.site_id or "", ""),
                    tags=kb_index.split_tags(article.tags),
                    type=article.kind,
                    status=article.status,
                    images={k: v for k, v in images.get(article.id, {}).items() if k in wanted},
                    source=article.id,
                )
            )
    return records
