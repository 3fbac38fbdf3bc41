"""The logs: an application's Logs tab, the tenant-wide Logs page, and the inspector's page for one event.

Both lists filter the same way (a query argument per column, matched exactly, and a UTC time
range) and link every event that has an inspection (models/auth_event.py `inspectable`) to its
page: each check the server made, in order, with what it expected and what it saw, plus the
decoded JOSE header and claims or the client certificate summary (blueprints/oauth/inspection.py).
That detail lives only here; the protocol response stays RFC 6749's terse error code.
"""
from flask import abort, current_app, render_template, request
from sqlalchemy import true

from blueprints.dashboard.common import bp, load_application
from models import AuthEvent, Client, db
from models.credential_uploads import parse_expires_at
from models.errors import CredentialError
from models.state import app_state

LOG_PAGE_SIZE = 50
MAX_LOG_PAGE = 100_000  # past this the SQL offset would overflow long before any log is that long
# The filters: a query argument per column, each matched exactly.
LOG_FILTERS = ("event_type", "outcome", "method", "endpoint")


@bp.get("/applications/<client_id>/logs")
def logs(client_id):
    """This application's authentication attempts and credential actions, newest first, filtered as asked."""
    client = load_application(client_id)
    return render_log_list("dashboard/logs.html", AuthEvent.client_pk == client.id, "dashboard.logs",
                           {"client_id": client.client_id}, client=client, active_tab="logs")


@bp.get("/logs")
def tenant_logs():
    """Every application's events (and attempts naming no application), newest first, filtered as asked."""
    client_id = request.args.get("client_id", "").strip()
    scope = AuthEvent.client_id_sent == client_id if client_id else true()
    return render_log_list("dashboard/tenant_logs.html", scope, "dashboard.tenant_logs", {}, show_application=True)


@bp.get("/logs/<int:event_id>")
def inspect_event(event_id: int):
    """One event with its inspection: the checks the server made, in order."""
    app_state().events.flush()
    event = db.session.execute(db.select(AuthEvent).where(AuthEvent.id == event_id)
                               .options(db.undefer(AuthEvent.inspection))).scalar_one_or_none()
    if event is None:
        abort(404)
    client = db.session.get(Client, event.client_pk) if event.client_pk is not None else None
    return render_template("dashboard/inspect_event.html", event=event, client=client,
                           inspection=event.inspection,
                           successes_every=int(current_app.config["APPCREDS_INSPECT_SUCCESSES_EVERY"]),
                           retention_days=int(current_app.config["APPCREDS_INSPECTION_RETENTION_DAYS"]))


def render_log_list(template: str, scope, list_endpoint: str, list_args: dict, show_application=False, **context):
    """A page of events within `scope`, filtered by the query arguments; 400 with a sentence for a bad time.

    `list_endpoint` and `list_args` address the list itself (its pages, "Clear filters")."""
    # Events are buffered per process; write ours now so the page shows the latest attempts.
    app_state().events.flush()
    page = max(1, min(request.args.get("page", 1, type=int), MAX_LOG_PAGE))
    filters = {name: request.args.get(name, "").strip() for name in LOG_FILTERS}
    query = db.select(AuthEvent).where(scope)
    for name, value in filters.items():
        if value:
            query = query.where(getattr(AuthEvent, name) == value)
    since, until, time_errors = log_time_range(request.args.get("since", ""), request.args.get("until", ""))
    if since:
        query = query.where(AuthEvent.created_at >= since)
    if until:
        query = query.where(AuthEvent.created_at <= until)
    query = query.order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc())
    pagination = db.paginate(query, page=page, per_page=LOG_PAGE_SIZE, error_out=False)
    choices = {name: db.session.execute(db.select(getattr(AuthEvent, name)).where(scope).distinct()
                                        .order_by(getattr(AuthEvent, name))).scalars().all()
               for name in LOG_FILTERS}
    filtered = {**filters, **{name: request.args.get(name, "").strip() for name in ("since", "until", "client_id")}}
    page_args = {name: value for name, value in filtered.items() if value}
    return render_template(template, pagination=pagination, choices=choices, filters=filtered,
                           time_errors=time_errors, page_args=page_args, list_endpoint=list_endpoint,
                           list_args=list_args, pager_args={**list_args, **page_args},
                           show_application=show_application,
                           applications=_applications_of(pagination.items),
                           successes_every=int(current_app.config["APPCREDS_INSPECT_SUCCESSES_EVERY"]),
                           **context), 400 if time_errors else 200


def _applications_of(events) -> dict:
    """(name, client id) of each application the events on one page belong to, by primary key (one query)."""
    pks = {event.client_pk for event in events if event.client_pk is not None}
    if not pks:
        return {}
    rows = db.session.execute(db.select(Client.id, Client.name, Client.client_id).where(Client.id.in_(pks)))
    return {pk: (name, client_id) for pk, name, client_id in rows}


def log_time_range(since_text: str, until_text: str):
    """The time range, UTC, as typed (YYYY-MM-DD HH:MM, or a date alone); a sentence per bad one."""
    bounds, errors = [], {}
    for name, text in (("since", since_text.strip()), ("until", until_text.strip())):
        moment = None
        if text:
            try:
                moment = parse_expires_at(text)
            except CredentialError:
                errors[name] = f"“{text[:40]}” is not a time: write it as YYYY-MM-DD HH:MM (UTC), or a date alone."
        bounds.append(moment)
    return bounds[0], bounds[1], errors
