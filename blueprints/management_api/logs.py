"""The event log: /api/v2/logs, every authentication attempt, token request, end-user step and
change, newest first.

Each record gets Auth0's short type code where one fits (seccft, feccft, ... for a token request's
outcome, s/f for an end user's sign-in, sapi for a change; documents.py LOG_TYPES lists them all).
Secrets and private data never appear: an event holds only what the Logs tab shows.
"""
from sqlalchemy import and_, false, or_

from blueprints.management_api import schemas
from blueprints.management_api.access import require_scope
from blueprints.management_api.api import bp
from blueprints.management_api.documents import (
    AUTHORIZATION_REQUEST,
    ENDPOINT_LOG_TYPES,
    FLOW_LOG_TYPES,
    GRANT_LOG_TYPES,
    LOG_TYPES,
    log_document,
)
from blueprints.management_api.errors import bad_request, not_found
from blueprints.management_api.payloads import page_of, read_query, select_fields
from models import AuthEvent, Client, db
from models.auth_event import DOORS, TOKEN_REQUEST
from models.state import app_state


@bp.get("/logs")
@require_scope("read:logs")
def list_logs():
    """Filter by client_id and type (or q/search: `type:feccft AND client_id:abc`); page or checkpoint."""
    query = read_query(schemas.LogListQuery)
    app_state().events.flush()  # this worker's buffered events first, so the answer is current
    filters = search_filters(query.q or query.search or "")
    if query.client_id:
        filters["client_id"] = query.client_id
    if query.type:
        filters["type"] = query.type
    newest_first = query.sort == "date:-1"
    statement = (db.select(AuthEvent, Client.name).outerjoin(Client, AuthEvent.client_pk == Client.id)
                 .order_by(AuthEvent.id.desc() if newest_first else AuthEvent.id.asc()))
    if "client_id" in filters:
        statement = statement.where(AuthEvent.client_id_sent == filters["client_id"])
    if "type" in filters:
        statement = statement.where(type_condition(filters["type"]))
    if query.take is not None:  # checkpoint paging: the `take` records past log `from`
        if query.from_:
            if not (query.from_.isascii() and query.from_.isdigit() and len(query.from_) <= 18):
                raise bad_request("Query validation error: 'from' must be a log_id", "invalid_query_string")
            after = int(query.from_)
            statement = statement.where(AuthEvent.id < after if newest_first else AuthEvent.id > after)
        query.page, query.per_page = 0, query.take
    total = db.session.execute(db.select(db.func.count()).select_from(statement.subquery())).scalar_one()
    rows = db.session.execute(statement.offset(query.page * query.per_page).limit(query.per_page)).all()
    items = [select_fields(log_document(event, name), query.fields, query.include_fields) for event, name in rows]
    return page_of(items, query, "logs", total)


@bp.get("/logs/<log_id>")
@require_scope("read:logs")
def get_log(log_id):
    app_state().events.flush()
    row = None
    if log_id.isascii() and log_id.isdigit() and len(log_id) <= 18:
        row = db.session.execute(db.select(AuthEvent, Client.name).outerjoin(Client, AuthEvent.client_pk == Client.id)
                                 .where(AuthEvent.id == int(log_id))).first()
    if row is None:
        raise not_found(f"Log not found: no log has the id {log_id[:64]!r}")
    return log_document(*row)


def search_filters(text: str) -> dict:
    """The simple Lucene subset Auth0's examples use: `field:value` terms joined by AND (or spaces)."""
    filters = {}
    for term in text.replace(" AND ", " ").split():
        field, _, value = term.partition(":")
        if field not in ("type", "client_id") or not value:
            raise bad_request(f"Query validation error: cannot search on {term[:60]!r}; use type:CODE or "
                              "client_id:ID", "invalid_query_string")
        filters[field] = value.strip('"')
    return filters


def type_condition(code: str):
    """The SQL condition for the records `documents.log_type` gives this code."""
    if code not in LOG_TYPES:
        return false()
    outcome = AuthEvent.outcome == ("success" if code[0] == "s" else "failure")
    if code[1:] == "api":
        return and_(AuthEvent.endpoint.in_(DOORS), outcome)
    if code[1:] == "ar":
        return and_(AuthEvent.event_type == AUTHORIZATION_REQUEST, outcome)
    flow = next((e for e, suffix in FLOW_LOG_TYPES.items() if code[1:] == suffix), None)
    if flow is not None:
        return and_(AuthEvent.event_type == flow, outcome)
    exchange = and_(AuthEvent.event_type == TOKEN_REQUEST, outcome)
    grant = next((g for g, suffix in GRANT_LOG_TYPES.items() if code[1:] == "e" + suffix), None)
    if grant:
        return and_(exchange, AuthEvent.grant_type == grant)
    if code[1:] == "etr":
        return and_(exchange, or_(AuthEvent.grant_type.is_(None), AuthEvent.grant_type.not_in(list(GRANT_LOG_TYPES))))
    attempt = and_(AuthEvent.event_type == "client_authentication", outcome)
    endpoint = next((e for e, suffix in ENDPOINT_LOG_TYPES.items() if code[1:] == suffix), None)
    if endpoint:
        return and_(attempt, AuthEvent.endpoint == endpoint)
    return and_(attempt, or_(AuthEvent.endpoint.is_(None), AuthEvent.endpoint.not_in(list(ENDPOINT_LOG_TYPES))))
