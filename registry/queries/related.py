"""GetRelatedDocuments (ITI TF-2 3.18.4.1.2.3.7.13): documents linked to one document.

The links are the associations of the requested types (RPLC, APND, XFRM, XFRM_RPLC,
signs…) with the document as source or target, followed one step in either direction.
The answer holds the related documents, those associations, and the document itself;
when nothing is related the answer is empty (the document alone is not returned).
$XDSDocumentEntryType filters the related documents (stable only when absent); a link
to a document it leaves out, or to an object that is no document (a signed submission
set), is not returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, or_, select

from ebrim.storedquery import GetRelatedDocumentsQuery
from registry.queries import filters as f
from registry.queries.answer import Selection
from registry.queries.get import by_id, single
from registry.schema import associations, documents


def get_related_documents(
    query: GetRelatedDocumentsQuery, visible: Select[Any] | None = None
) -> Selection:
    """With `visible`, a hidden document relates to nothing, as an unknown one."""
    origin = by_id(documents, single(query.uuid), single(query.unique_id))
    if visible is not None:
        origin = origin.where(documents.c.entry_uuid.in_(visible))
    a = associations.c
    typed = a.association_type.in_(list(query.association_types))
    others = (
        select(a.target_uuid)
        .where(typed, a.source_uuid.in_(origin))
        .union(select(a.source_uuid).where(typed, a.target_uuid.in_(origin)))
    )
    related = select(documents.c.entry_uuid).where(
        documents.c.entry_uuid.in_(others),
        documents.c.entry_uuid.not_in(origin),
        *f.document_types(documents.c.object_type, query.document_types),
    )
    links = _links(origin, related, typed)
    found = select(documents.c.entry_uuid).where(documents.c.entry_uuid.in_(origin), exists(links))
    return Selection(
        documents=select(documents.c.entry_uuid).where(
            or_(documents.c.entry_uuid.in_(related), documents.c.entry_uuid.in_(found))
        ),
        associations=links,
    )


def _links(origin: Select[Any], related: Select[Any], typed: Any) -> Select[Any]:
    a = associations.c
    return select(a.entry_uuid).where(
        typed,
        or_(
            and_(a.source_uuid.in_(origin), a.target_uuid.in_(related)),
            and_(a.target_uuid.in_(origin), a.source_uuid.in_(related)),
        ),
    )


__all__ = ["get_related_documents"]
