"""Which APIs an application may get tokens for: /api/v2/client-grants (Auth0's shapes)."""
from blueprints.management_api import schemas
from blueprints.management_api.access import require_scope
from blueprints.management_api.api import bp
from blueprints.management_api.clients import load_for_change, record
from blueprints.management_api.documents import grant_document, grant_pk
from blueprints.management_api.errors import ManagementApiError, not_found
from blueprints.management_api.payloads import about, page_of, read_body, read_query
from models import Client, ClientGrant, db
from models.applications import grant_api, lock_application, revoke_api_grant


@bp.get("/client-grants")
@require_scope("read:client_grants")
def list_client_grants():
    """Grants, filtered by client_id and audience; pages (page/per_page) or checkpoints (from/take)."""
    query = read_query(schemas.ClientGrantListQuery)
    statement = db.select(ClientGrant).join(Client).order_by(ClientGrant.id)
    if query.client_id is not None:
        statement = statement.where(Client.client_id == query.client_id)
    if query.audience is not None:
        statement = statement.where(ClientGrant.audience == query.audience)
    if query.take is not None:  # checkpoint paging, as Auth0's SDKs do it
        after = grant_pk(query.from_) if query.from_ else 0
        grants = db.session.execute(statement.where(ClientGrant.id > (after or 0)).limit(query.take + 1)).scalars()
        grants = list(grants)
        more = len(grants) > query.take
        grants = grants[:query.take]
        return {"client_grants": [grant_document(g) for g in grants],
                "next": grant_document(grants[-1])["id"] if more else None}
    total = db.session.execute(db.select(db.func.count()).select_from(statement.subquery())).scalar_one()
    grants = db.session.execute(statement.offset(query.page * query.per_page).limit(query.per_page)).scalars()
    return page_of([grant_document(g) for g in grants], query, "client_grants", total)


@bp.get("/client-grants/<grant_id>")
@require_scope("read:client_grants")
def get_client_grant(grant_id):
    return grant_document(load_grant(grant_id))


@bp.post("/client-grants")
@require_scope("create:client_grants")
def create_client_grant():
    """Allow an application tokens for an API with these scopes; a second grant for the pair is a 409."""
    body = read_body(schemas.ClientGrantCreate)
    client = load_for_change(body.client_id)
    if client.grant_for(body.audience) is not None:
        raise ManagementApiError(409, f"A grant for this application and the API {body.audience} already exists; "
                                      "change its scope with PATCH", "client_grant_conflict")
    with about("audience" if not body.scope else "scope"):
        grant = grant_api(client, body.audience, body.scope)
    db.session.commit()
    record(client, "api_grants_changed", f"granted {body.audience} with scopes {' '.join(body.scope) or '(none)'}")
    return grant_document(grant), 201


@bp.patch("/client-grants/<grant_id>")
@require_scope("update:client_grants")
def update_client_grant(grant_id):
    body = read_body(schemas.ClientGrantUpdate)
    client, grant = lock_grant(grant_id)
    with about("scope"):
        grant_api(client, grant.audience, body.scope)
    db.session.commit()
    record(client, "api_grants_changed", f"granted {grant.audience} with scopes {' '.join(body.scope) or '(none)'}")
    return grant_document(grant)


@bp.delete("/client-grants/<grant_id>")
@require_scope("delete:client_grants")
def delete_client_grant(grant_id):
    client, grant = lock_grant(grant_id)
    audience = grant.audience
    revoke_api_grant(client, audience)
    db.session.commit()
    record(client, "api_grants_changed", f"revoked {audience}")
    return "", 204


def load_grant(grant_id: str) -> ClientGrant:
    pk = grant_pk(grant_id)
    grant = db.session.get(ClientGrant, pk) if pk is not None else None
    if grant is None:
        raise not_found(f"Client grant not found: no grant has the id {grant_id[:64]!r}")
    return grant


def lock_grant(grant_id: str) -> tuple[Client, ClientGrant]:
    """The grant and its application, locked for the change (models.applications.lock_application)."""
    client = lock_application(load_grant(grant_id).client.client_id)
    grant = next((g for g in client.grants if g.id == grant_pk(grant_id)), None) if client else None
    if grant is None:
        raise not_found(f"Client grant not found: no grant has the id {grant_id[:64]!r}")
    return client, grant
