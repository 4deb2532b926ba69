"""The knowledge base (运维知识库): articles with their versions, images and uses; canned answers
(常用答复); search synonyms; and the search over articles, tickets and calls from one box.

Articles are documents synced like the directory (merged field by field, a conflict kept for a
person); every save adds a version (insert-only), so the history and its diffs survive merges. The
search index is written in the same transaction as the article (``app.services.kb_index``).
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.i18n import N_, _
from app.ids import uuid7
from app.search import kb as search
from app.services import kb_index
from app.storage.models import (
    Call,
    CannedAnswer,
    KbArticle,
    KbArticleVersion,
    KbImage,
    KbLink,
    KbSynonym,
    Module,
    Site,
    System,
    Ticket,
)
from app.storage.uow import UnitOfWork

ARTICLE_TYPES: dict[str, str] = {
    "faq": N_("FAQ"),
    "fault": N_("Fault handling"),
    "guide": N_("How-to"),
    "emergency": N_("Emergency plan"),
    "notice": N_("Notice"),
}
ARTICLE_STATUSES: dict[str, str] = {
    "draft": N_("Draft"),
    "published": N_("Published"),
    "archived": N_("Archived"),
}
# The fields a version records and a diff compares, with their labels.
ARTICLE_FIELDS: dict[str, str] = {
    "title": N_("Title"),
    "symptom": N_("Symptom / question"),
    "cause": N_("Cause"),
    "solution": N_("Solution"),
    "system_id": N_("System"),
    "module_id": N_("Module"),
    "tags": N_("Tags"),
    "kind": N_("Type"),
    "status": N_("Status"),
    "site_id": N_("Site"),
}

MAX_TITLE = 200
MAX_TEXT = 200_000  # characters of one Markdown field
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
_LINK_NAMESPACE = uuid.UUID("6f1d1f4e-8a53-4b0e-9d6f-2c1b7a0e5d11")


@dataclass
class ArticleInput:
    title: str = ""
    symptom: str = ""
    cause: str = ""
    solution: str = ""
    site_id: str | None = None
    system_id: str | None = None
    module_id: str | None = None
    tags: list[str] = field(default_factory=list)
    kind: str = "faq"
    status: str = "draft"


@dataclass(frozen=True)
class NewImage:
    """An image pasted in the editor, not saved yet: referenced in the Markdown as ``kbimg:<id>``."""

    id: str
    mime: str
    data: bytes


def type_label(code: str) -> str:
    return _(ARTICLE_TYPES[code]) if code in ARTICLE_TYPES else code


def status_label(code: str) -> str:
    return _(ARTICLE_STATUSES[code]) if code in ARTICLE_STATUSES else code


# --- validation -----------------------------------------------------------------------------------


def _clean(data: ArticleInput) -> ArticleInput:
    return ArticleInput(
        title=" ".join(data.title.split()),
        symptom=data.symptom.strip(),
        cause=data.cause.strip(),
        solution=data.solution.strip(),
        site_id=data.site_id or None,
        system_id=data.system_id or None,
        module_id=data.module_id or None,
        tags=kb_index.split_tags(",".join(data.tags)),
        kind=data.kind,
        status=data.status,
    )


def _validate(session: Session, data: ArticleInput) -> None:
    errors: dict[str, str] = {}
    if not data.title:
        errors["title"] = _("Enter a title.")
    elif len(data.title) > MAX_TITLE:
        errors["title"] = _("The title is too long (at most {n} characters).").format(n=MAX_TITLE)
    if not data.symptom and not data.solution:
        errors["solution"] = _("Write the symptom or the solution.")
    for name in ("symptom", "cause", "solution"):
        if len(getattr(data, name)) > MAX_TEXT:
            errors[name] = _("This text is too long (at most {n} characters).").format(n=MAX_TEXT)
    if data.kind not in ARTICLE_TYPES:
        errors["kind"] = _("Choose the article's type.")
    if data.status not in ARTICLE_STATUSES:
        errors["status"] = _("Choose the article's status.")
    if data.site_id is not None and session.get(Site, data.site_id) is None:
        errors["site"] = _("This site no longer exists.")
    system = session.get(System, data.system_id) if data.system_id else None
    if data.system_id and system is None:
        errors["system"] = _("This system no longer exists.")
    if data.module_id:
        module = session.get(Module, data.module_id)
        if module is None or (system is not None and module.system_id != system.id):
            errors["module"] = _("Choose a module of the chosen system.")
    if sum(len(t) for t in data.tags) > 500:
        errors["tags"] = _("Too many tags.")
    if errors:
        raise ValidationError(errors)


def _check_images(images: Iterable[NewImage]) -> None:
    for image in images:
        if image.mime not in IMAGE_TYPES:
            raise ValidationError({"solution": _("Only PNG, JPEG and GIF images can be kept in an article.")})
        if len(image.data) > MAX_IMAGE_BYTES:
            raise ValidationError(
                {
                    "solution": _("An image is larger than {mb} MB; make it smaller first.").format(
                        mb=MAX_IMAGE_BYTES // 2**20
                    )
                }
            )


# --- saving ---------------------------------------------------------------------------------------


def _fields_of(article: KbArticle) -> dict[str, Any]:
    return {name: getattr(article, name) for name in ARTICLE_FIELDS}


def _assign(article: KbArticle, data: ArticleInput) -> dict[str, Any]:
    values = asdict(data)
    values["tags"] = ",".join(data.tags)
    changed: dict[str, Any] = {}
    for name in ARTICLE_FIELDS:
        if getattr(article, name) != values[name]:
            setattr(article, name, values[name])
            changed[name] = values[name]
    return changed


def _add_version(session: Session, article: KbArticle, editor: str, now: dt.datetime) -> None:
    number = (
        session.scalar(
            select(func.max(KbArticleVersion.revision)).where(KbArticleVersion.article_id == article.id)
        )
        or 0
    ) + 1
    session.add(
        KbArticleVersion(
            id=uuid7(),
            article_id=article.id,
            revision=number,
            snapshot=json.dumps(_fields_of(article), ensure_ascii=False),
            saved_at=now,
            saved_by=editor[:100],
        )
    )


def _add_images(session: Session, article: KbArticle, images: Iterable[NewImage], now: dt.datetime) -> None:
    text = "\n".join((article.symptom, article.cause, article.solution))
    for image in images:
        if f"kbimg:{image.id}" not in text or session.get(KbImage, image.id) is not None:
            continue  # pasted, then deleted from the text before saving; or saved already
        session.add(
            KbImage(
                id=image.id,
                article_id=article.id,
                mime=image.mime,
                data=base64.b64encode(image.data).decode("ascii"),
                added_at=now,
            )
        )


def create_article(
    uow: UnitOfWork,
    data: ArticleInput,
    author: str,
    now: dt.datetime,
    images: Sequence[NewImage] = (),
    call_id: str | None = None,
    ticket_id: str | None = None,
) -> KbArticle:
    """Save a new article (its first version), linked to the call or ticket it was made from."""
    session = uow.session
    data = _clean(data)
    _validate(session, data)
    _check_images(images)
    article = KbArticle(id=uuid7(), author=author[:100], created_at=now)
    _assign(article, data)
    session.add(article)
    session.flush()
    _add_images(session, article, images, now)
    _add_version(session, article, author, now)
    if call_id is not None or ticket_id is not None:
        _link(session, article.id, call_id, ticket_id, author, now)
    session.flush()
    kb_index.index_articles(session, [article.id])
    uow.commit()
    return article


def save_article(
    uow: UnitOfWork,
    article_id: str,
    data: ArticleInput,
    editor: str,
    now: dt.datetime,
    images: Sequence[NewImage] = (),
) -> KbArticle | None:
    """Save an edited article as a new version. Returns None when nothing changed."""
    session = uow.session
    article = session.get(KbArticle, article_id)
    if article is None or article.deleted:
        raise ValidationError({"article": _("This article no longer exists (another computer deleted it).")})
    data = _clean(data)
    _validate(session, data)
    _check_images(images)
    changed = _assign(article, data)
    if not changed:
        session.rollback()
        return None
    session.flush()
    _add_images(session, article, images, now)
    _add_version(session, article, editor, now)
    session.flush()
    kb_index.index_articles(session, [article.id])
    uow.commit()
    return article


def set_status(
    uow: UnitOfWork, article_id: str, status: str, editor: str, now: dt.datetime
) -> KbArticle | None:
    """Publish, archive or take back to draft (a new version)."""
    session = uow.session
    article = session.get(KbArticle, article_id)
    if article is None or article.deleted:
        raise ValidationError({"article": _("This article no longer exists (another computer deleted it).")})
    data = input_from_article(article)
    data.status = status
    uow.session.rollback()
    return save_article(uow, article_id, data, editor, now)


def delete_article(uow: UnitOfWork, article_id: str) -> None:
    """Delete an article (a tombstone every desktop receives); its versions stay in the history."""
    session = uow.session
    article = session.get(KbArticle, article_id)
    if article is None or article.deleted:
        return
    article.deleted = True
    session.flush()
    kb_index.index_articles(session, [article.id])
    uow.commit()


def input_from_article(article: KbArticle) -> ArticleInput:
    return ArticleInput(
        title=article.title,
        symptom=article.symptom,
        cause=article.cause,
        solution=article.solution,
        site_id=article.site_id,
        system_id=article.system_id,
        module_id=article.module_id,
        tags=kb_index.split_tags(article.tags),
        kind=article.kind,
        status=article.status,
    )


def input_from_call(session: Session, call_id: str) -> ArticleInput:
    """An article prefilled from a call: its question as the symptom, its answer as the solution."""
    call = session.scalar(select(Call).where(Call.id == call_id))
    if call is None or call.deleted:
        raise ValidationError({"call": _("This call no longer exists.")})
    first_line = next((line.strip() for line in call.question.splitlines() if line.strip()), "")
    return ArticleInput(
        title=first_line[:60],
        symptom=call.question,
        solution=call.answer,
        site_id=call.site_id,
        system_id=call.system_id,
        module_id=call.module_id,
        kind="faq",
        status="draft",
    )


def input_from_ticket(session: Session, ticket_id: str) -> ArticleInput:
    """An article prefilled from a ticket: a fault-handling article with its description and notes."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.deleted:
        raise ValidationError({"ticket": _("This ticket no longer exists.")})
    return ArticleInput(
        title=ticket.title[:MAX_TITLE],
        symptom=ticket.description,
        solution=ticket.notes,
        site_id=ticket.site_id,
        system_id=ticket.system_id,
        module_id=ticket.module_id,
        kind="fault",
        status="draft",
    )


# --- links and uses -------------------------------------------------------------------------------


def link_id(article_id: str, call_id: str | None, ticket_id: str | None) -> str:
    target = f"call/{call_id}" if call_id else f"ticket/{ticket_id}"
    return str(uuid.uuid5(_LINK_NAMESPACE, f"{article_id}/{target}"))


def _link(
    session: Session, article_id: str, call_id: str | None, ticket_id: str | None, by: str, now: dt.datetime
) -> None:
    row_id = link_id(article_id, call_id, ticket_id)
    if session.get(KbLink, row_id) is None:
        session.add(
            KbLink(
                id=row_id,
                article_id=article_id,
                call_id=call_id,
                ticket_id=ticket_id,
                linked_by=by[:100],
                linked_at=now,
            )
        )


def link_to_call(session: Session, article_id: str, call_id: str, by: str, now: dt.datetime) -> None:
    """Record that an article's answer was used in a call (inside the caller's unit of work: the call's
    save). An article deleted meanwhile is not linked."""
    article = session.get(KbArticle, article_id)
    if article is not None and not article.deleted:
        _link(session, article_id, call_id, None, by, now)


def link_to_ticket(uow: UnitOfWork, article_id: str, ticket_id: str, by: str, now: dt.datetime) -> None:
    _link(uow.session, article_id, None, ticket_id, by, now)
    uow.commit()


def uses(session: Session, article_ids: Iterable[str]) -> dict[str, int]:
    """How many calls each article was used in."""
    ids = list(dict.fromkeys(article_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(KbLink.article_id, func.count())
            .where(KbLink.article_id.in_(chunk), KbLink.call_id.is_not(None), KbLink.deleted.is_(False))
            .group_by(KbLink.article_id)
        )
        found.update({str(a): int(n) for a, n in rows})
    return found


def linked_articles(
    session: Session, call_id: str | None = None, ticket_id: str | None = None
) -> list[KbArticle]:
    stmt = (
        select(KbArticle).join(KbLink, KbLink.article_id == KbArticle.id).where(KbArticle.deleted.is_(False))
    )
    stmt = stmt.where(KbLink.call_id == call_id) if call_id else stmt.where(KbLink.ticket_id == ticket_id)
    return list(session.scalars(stmt.order_by(KbLink.linked_at)))


# --- reading --------------------------------------------------------------------------------------


def get_article(session: Session, article_id: str) -> KbArticle | None:
    article = session.get(KbArticle, article_id)
    return None if article is None or article.deleted else article


def images_of(session: Session, article_id: str) -> dict[str, tuple[str, bytes]]:
    """The article's images: id -> (mime type, bytes)."""
    rows = session.scalars(
        select(KbImage).where(KbImage.article_id == article_id, KbImage.deleted.is_(False))
    )
    result: dict[str, tuple[str, bytes]] = {}
    for row in rows:
        try:
            result[row.id] = (row.mime, base64.b64decode(row.data, validate=False))
        except ValueError:
            continue  # a damaged image shows as missing, never as an error
    return result


@dataclass(frozen=True)
class Version:
    id: str
    number: int
    saved_at: dt.datetime
    saved_by: str
    fields: dict[str, Any]


def versions(session: Session, article_id: str) -> list[Version]:
    """Every saved version, oldest first (by time: two desktops may have numbered one alike)."""
    rows = session.scalars(
        select(KbArticleVersion)
        .where(KbArticleVersion.article_id == article_id)
        .order_by(KbArticleVersion.saved_at, KbArticleVersion.id)
    )
    result: list[Version] = []
    for position, row in enumerate(rows, start=1):
        try:
            fields = json.loads(row.snapshot)
        except ValueError:
            fields = {}
        result.append(
            Version(row.id, position, row.saved_at, row.saved_by, fields if isinstance(fields, dict) else {})
        )
    return result


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs between two versions: lines as (mark, text), mark ' ', '-' or '+'."""

    field: str
    label: str
    lines: tuple[tuple[str, str], ...]


def diff_versions(
    old: Mapping[str, Any], new: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> list[FieldDiff]:
    """What changed from ``old`` to ``new``, field by field, line by line (unchanged lines of a long
    text are cut down to the two around each change). ``names`` turns ids (system, module, site) into
    names for reading."""
    names = names or {}
    result: list[FieldDiff] = []
    for name, label in ARTICLE_FIELDS.items():
        before, after = _readable(name, old.get(name), names), _readable(name, new.get(name), names)
        if before == after:
            continue
        lines: list[tuple[str, str]] = []
        for group in difflib.SequenceMatcher(
            None, before.splitlines(), after.splitlines()
        ).get_grouped_opcodes(2):
            if lines:
                lines.append((" ", "…"))
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    lines.extend((" ", line) for line in before.splitlines()[i1:i2])
                    continue
                lines.extend(("-", line) for line in before.splitlines()[i1:i2])
                lines.extend(("+", line) for line in after.splitlines()[j1:j2])
        result.append(FieldDiff(name, _(label), tuple(lines)))
    return result


def _readable(name: str, value: Any, names: Mapping[str, str]) -> str:
    if value is None:
        return ""
    text = str(value)
    if name in ("system_id", "module_id", "site_id"):
        return names.get(text, text)
    if name == "kind":
        return type_label(text)
    if name == "status":
        return status_label(text)
    return text


# --- searching ------------------------------------------------------------------------------------


def synonym_table(session: Session) -> search.SynonymTable:
    rows = session.connection().exec_driver_sql("SELECT words FROM kb_synonyms WHERE deleted = 0")
    return search.SynonymTable.from_texts(str(r[0]) for r in rows)


@dataclass(frozen=True)
class ArticleHit:
    id: str
    title: str
    kind: str
    status: str
    system_id: str | None
    module_id: str | None
    tags: tuple[str, ...]
    uses: int
    score: float
    snippet: search.Snippet
    title_marks: search.Snippet
    solution: str


@dataclass(frozen=True)
class TicketHit:
    id: str
    number: str
    title: str
    snippet: search.Snippet


@dataclass(frozen=True)
class CallHit:
    id: str
    started_at: dt.datetime
    unit_name: str
    snippet: search.Snippet
    answer: str


@dataclass(frozen=True)
class SearchResult:
    articles: list[ArticleHit]
    tickets: list[TicketHit] = field(default_factory=list)
    calls: list[CallHit] = field(default_factory=list)
    total_articles: int = 0
    calls_deferred: bool = False  # as you type: the call index waits for a longer word (see below)


def search_articles(
    session: Session,
    text: str,
    filters: search.KbFilters | None = None,
    limit: int = 50,
    synonyms: search.SynonymTable | None = None,
    loose: bool = False,
    as_you_type: bool = False,
) -> list[ArticleHit]:
    """Articles matching ``text`` (anything a person types), best first, with marked snippets: those
    holding every word; when none does (a question typed as a sentence), or with ``loose``, those
    holding most of them. ``as_you_type``: a word of one character so far is looked for in the titles
    only (``search.in_titles_while_short``)."""
    filters = filters or search.KbFilters()
    filters = search.KbFilters(**{**asdict(filters), "kinds": (search.ARTICLE,)})
    if synonyms is None:
        synonyms = synonym_table(session)
    query = search.build_query(text, synonyms) if text.strip() else None
    if text.strip() and query is None:
        return []
    if query is not None and as_you_type:
        query = search.in_titles_while_short(query)
    conn = session.connection()
    hits = [] if loose else search.search(conn, query, filters, limit=limit + 10 if query else limit)
    if query is not None and not hits:
        query = search.loosen(query)
        hits = search.search(conn, query, filters, limit=limit + 10)
    counts = uses(session, [h.doc_id for h in hits])
    if query is not None:
        hits = search.rerank(hits, counts)[:limit]
    # plain rows of the columns shown, not ORM entities: this runs at every keystroke
    articles = {
        a.id: a
        for a in session.execute(
            select(
                KbArticle.id,
                KbArticle.title,
                KbArticle.kind,
                KbArticle.status,
                KbArticle.system_id,
                KbArticle.module_id,
                KbArticle.tags,
                KbArticle.symptom,
                KbArticle.solution,
                KbArticle.deleted,
            ).where(KbArticle.id.in_([h.doc_id for h in hits]))
        )
    }
    words = query.highlight if query is not None else ()
    result: list[ArticleHit] = []
    for hit in hits:
        article = articles.get(hit.doc_id)
        if article is None or article.deleted:
            continue
        result.append(
            ArticleHit(
                id=article.id,
                title=article.title,
                kind=article.kind,
                status=article.status,
                system_id=article.system_id,
                module_id=article.module_id,
                tags=tuple(kb_index.split_tags(article.tags)),
                uses=counts.get(article.id, 0),
                score=hit.score,
                snippet=_body_snippet(article.symptom, article.solution, words),
                title_marks=search.snippet(article.title, words, width=MAX_TITLE),
                solution=article.solution,
            )
        )
    return result


def _body_snippet(symptom: str, solution: str, words: Sequence[str]) -> search.Snippet:
    """The symptom around the words when it holds one, else the solution when that does, else the
    start of the symptom (or of the solution, without a symptom). Each text is folded once."""
    first = search.snippet(symptom, words) if symptom else None
    if first is not None and (first.matched or not words):
        return first
    second = search.snippet(solution, words)
    return second if second.matched or first is None else first


def search_everything(
    session: Session,
    text: str,
    filters: search.KbFilters | None = None,
    limit: int = 30,
    other_limit: int = 10,
    as_you_type: bool = False,
) -> SearchResult:
    """Articles, tickets and calls matching ``text``: the knowledge-base page's one box.

    ``as_you_type`` (the page, searching at every keystroke): while the word being typed is one
    character or two digits (单, ORA-1, 13), the earlier calls are not searched — in a million calls
    such a prefix costs up to a quarter of a second (``KbQuery.has_short_prefix``) — and the result
    says so (``calls_deferred``); the next keystroke searches them. Articles and tickets are always
    searched, a one-character word in their titles only (``search.in_titles_while_short``)."""
    synonyms = synonym_table(session)
    articles = search_articles(session, text, filters, limit, synonyms, as_you_type=as_you_type)
    query = search.build_query(text, synonyms) if text.strip() else None
    if query is None:
        return SearchResult(articles)
    calls_query = query
    if as_you_type:
        query = search.in_titles_while_short(query)
    site_id = filters.site_id if filters else None
    ticket_hits = search.search(
        session.connection(),
        query,
        search.KbFilters(kinds=(search.TICKET,), site_id=site_id),
        limit=other_limit,
    )
    tickets_by_id = {
        t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_([h.doc_id for h in ticket_hits])))
    }
    tickets = [
        TicketHit(t.id, t.number, t.title, search.snippet(t.description or t.title, query.highlight))
        for t in (tickets_by_id.get(h.doc_id) for h in ticket_hits)
        if t is not None
    ]
    if as_you_type and calls_query.has_short_prefix():
        return SearchResult(articles, tickets, calls_deferred=True)
    calls = _search_calls(session, calls_query, site_id, other_limit)
    return SearchResult(articles, tickets, calls)


def _search_calls(session: Session, query: search.KbQuery, site_id: str | None, limit: int) -> list[CallHit]:
    """Earlier calls with the same words, newest first (the call index, same query terms)."""
    from app.services.calls import facet_token

    match = query.words()
    if site_id:
        match += f' AND "{facet_token("s", site_id)}"'
    keys = [
        int(r[0])
        for r in session.connection().exec_driver_sql(
            "SELECT rowid FROM calls_fts WHERE calls_fts MATCH ? ORDER BY rowid DESC LIMIT ?", (match, limit)
        )
    ]
    if not keys:
        return []
    calls = session.scalars(select(Call).where(Call.key.in_(keys)).order_by(Call.key.desc()))
    return [
        CallHit(
            c.id, c.started_at, c.unit_name, _body_snippet(c.question, c.answer, query.highlight), c.answer
        )
        for c in calls
        if not c.deleted
    ]


def suggestions(session: Session, question: str, site_id: str | None, limit: int = 5) -> list[ArticleHit]:
    """Published articles for what a caller is asking, as the engineer types it. A question is a
    sentence no article holds whole, so its words are searched loosely (any of them; bm25 ranks the
    articles holding most of the rarest first)."""
    filters = search.KbFilters(site_id=site_id, statuses=("published",))
    return search_articles(session, question, filters, limit, loose=True)


def all_tags(session: Session) -> list[str]:
    """Every tag in use, for the filter."""
    seen: dict[str, None] = {}
    for text in session.scalars(
        select(KbArticle.tags).where(KbArticle.deleted.is_(False), KbArticle.tags != "")
    ):
        for tag in kb_index.split_tags(text):
            seen.setdefault(tag)
    return sorted(seen)


# --- synonyms -------------------------------------------------------------------------------------


def list_synonyms(session: Session) -> list[KbSynonym]:
    return list(session.scalars(select(KbSynonym).where(KbSynonym.deleted.is_(False)).order_by(KbSynonym.id)))


def save_synonyms(uow: UnitOfWork, synonym_id: str | None, words: str) -> KbSynonym:
    cleaned = " = ".join(dict.fromkeys(search.split_words(words)))
    if len(search.split_words(cleaned)) < 2:
        raise ValidationError(
            {"words": _("A synonym group needs at least two words, e.g. 优盘 = U盘 = UKey.")}
        )
    session = uow.session
    row = session.get(KbSynonym, synonym_id) if synonym_id else None
    if row is None or row.deleted:
        row = KbSynonym(id=uuid7(), words=cleaned)
        session.add(row)
    else:
        row.words = cleaned
    uow.commit()
    return row


def delete_synonyms(uow: UnitOfWork, synonym_id: str) -> None:
    row = uow.session.get(KbSynonym, synonym_id)
    if row is not None and not row.deleted:
        row.deleted = True
        uow.commit()


# --- canned answers -------------------------------------------------------------------------------


def list_canned(session: Session, site_id: str | None = None, text: str = "") -> list[CannedAnswer]:
    """Canned answers for a site (and those for every site), filtered by words in the title, the
    abbreviation or the text; by title."""
    stmt = select(CannedAnswer).where(CannedAnswer.deleted.is_(False))
    if site_id:
        stmt = stmt.where((CannedAnswer.site_id == site_id) | CannedAnswer.site_id.is_(None))
    rows = list(session.scalars(stmt))
    if text.strip():
        from app.search.text import normalize

        words = normalize(text).split()
        rows = [r for r in rows if all(w in normalize(f"{r.abbreviation} {r.title} {r.body}") for w in words)]
    return sorted(rows, key=lambda r: (r.abbreviation == "", r.abbreviation.casefold(), r.title))


def canned_by_abbreviation(session: Session, abbreviation: str, site_id: str | None) -> CannedAnswer | None:
    wanted = abbreviation.strip().casefold()
    if not wanted:
        return None
    for row in list_canned(session, site_id):
        if row.abbreviation.casefold() == wanted:
            return row
    return None


def save_canned(
    uow: UnitOfWork, canned_id: str | None, title: str, body: str, abbreviation: str, site_id: str | None
) -> CannedAnswer:
    session = uow.session
    title = " ".join(title.split())
    abbreviation = abbreviation.strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Enter a title.")
    if not body.strip():
        errors["body"] = _("Write the answer's text.")
    if abbreviation and (len(abbreviation) > 20 or any(ch.isspace() for ch in abbreviation)):
        errors["abbreviation"] = _("An abbreviation is one word of at most 20 characters.")
    if abbreviation and not errors:
        other = canned_by_abbreviation(session, abbreviation, site_id)
        if other is not None and other.id != canned_id:
            errors["abbreviation"] = _("“{abbr}” is already the abbreviation of “{title}”.").format(
                abbr=abbreviation, title=other.title
            )
    if errors:
        raise ValidationError(errors)
    row = session.get(CannedAnswer, canned_id) if canned_id else None
    if row is None or row.deleted:
        row = CannedAnswer(id=uuid7())
        session.add(row)
    row.title, row.body, row.abbreviation, row.site_id = (
        title[:200],
        body.strip(),
        abbreviation,
        site_id or None,
    )
    uow.commit()
    return row


def delete_canned(uow: UnitOfWork, canned_id: str) -> None:
    row = uow.session.get(CannedAnswer, canned_id)
    if row is not None and not row.deleted:
        row.deleted = True
        uow.commit()
