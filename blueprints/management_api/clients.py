"""Applications: /api/v2/clients, Auth0's shapes, every rule the dashboard and CLI enforce.

Each view validates the body against schemas.py, applies it through the domain layer
(models/applications.py, models/credential_registry.py: the same functions the other doors
call), commits once, then records the change in the event log with the calling application.
Any refusal rolls the whole request back: nothing is stored half-way.
"""
from flask import request

from blueprints.management_api import schemas
from blueprints.management_api.access import caller_has_scope, caller_name, check_scope, require_scope
from blueprints.management_api.api import bp
from blueprints.management_api.documents import client_document
from blueprints.management_api.errors import bad_request, not_found
from blueprints.management_api.payloads import about, page_of, read_body, read_query, select_fields
from models import Client, db
from models.applications import (
    check_callback_url,
    create_application,
    find_application,
    lock_application,
    rotate_secret,
    set_auth_method,
    update_application,
    update_authorization_request_policy,
)
from models.audit import record_change
from models.auth_event import MANAGEMENT_API
from models.auth_methods import CLIENT_SECRET_BASIC, JAR, MACHINE_TO_MACHINE, NONE
from models.credential_registry import (
    add_certificate_credential,
    add_public_key_credential,
    add_subject_dn_credential,
    reference_credentials,
)

DEFAULT_PAR_EXPIRY = 60  # seconds: what par_request_expiry null means


def record(client, event_type: str, reason: str) -> None:
    record_change(client, event_type, reason, door=MANAGEMENT_API, actor=caller_name(), source_ip=request.remote_addr)


def show(client, with_secret=None) -> dict:
    """The client as the caller may see it: the secret only with read:client_keys."""
    return client_document(client, with_secret=caller_has_scope("read:client_keys") if with_secret is None
                           else with_secret)


def load(client_id: str) -> Client:
    client = find_application(client_id) if len(client_id) <= 64 else None
    if client is None:
        raise not_found(f"Client not found: no application has the client_id {client_id[:64]!r}")
    return client


def load_for_change(client_id: str) -> Client:
    client = lock_application(client_id) if len(client_id) <= 64 else None
    if client is None:
        raise not_found(f"Client not found: no application has the client_id {client_id[:64]!r}")
    return client


@bp.get("/clients")
@require_scope("read:clients")
def list_clients():
    """Every application, oldest first, a page at a time."""
    query = read_query(schemas.ClientListQuery)
    statement = db.select(Client).order_by(Client.created_at, Client.id)
    if query.app_type:
        statement = statement.where(Client.app_type.in_([t.strip() for t in query.app_type.split(",")]))
    total = db.session.execute(db.select(db.func.count()).select_from(statement.subquery())).scalar_one()
    clients = db.session.execute(statement.offset(query.page * query.per_page).limit(query.per_page)).scalars()
    items = [select_fields(show(client), query.fields, query.include_fields) for client in clients]
    return page_of(items, query, "clients", total)


@bp.get("/clients/<client_id>")
@require_scope("read:clients")
def get_client(client_id):
    query = read_query(schemas.FieldsQuery)
    return select_fields(show(load(client_id)), query.fields, query.include_fields)


@bp.post("/clients")
@require_scope("create:clients")
def create_client():
    """Create an application; with client_authentication_methods, its credentials too (Auth0: inline)."""
    body = read_body(schemas.ClientCreate)
    if body.client_authentication_methods is not None or (body.signed_request_object or
                                                          schemas.SignedRequestObjectCreate()).credentials:
        check_scope("create:client_credentials")
    if body.client_authentication_methods is not None and body.token_endpoint_auth_method is not None:
        raise bad_request("token_endpoint_auth_method and client_authentication_methods are mutually exclusive: "
                          "send one")
    with about("callbacks"):
        for url in body.callbacks or []:
            check_callback_url(url)
    with about("token_endpoint_auth_method"):
        client, _secret = create_application(
            body.name, body.app_type or MACHINE_TO_MACHINE, body.token_endpoint_auth_method or CLIENT_SECRET_BASIC,
            grant_types=body.grant_types, callback_urls=body.callbacks or [], description=body.description or "")
    apply_settings(client, body)
    if body.signed_request_object is not None:
        create_inline_credentials(client, JAR, body.signed_request_object.credentials or [],
                                  "signed_request_object.credentials")
        apply_signed_request_policy(client, body.signed_request_object.required)
    if body.client_authentication_methods is not None:
        method, listed = one_method(body.client_authentication_methods)
        create_inline_credentials(client, method, listed.credentials,
                                  f"client_authentication_methods.{method}.credentials")
        with about(f"client_authentication_methods.{method}"):
            set_auth_method(client, method)
    db.session.commit()
    record(client, "application_created", f"application {client.name!r} created ({client.app_type}, "
                                          f"{client.token_endpoint_auth_method})")
    return show(client, with_secret=True), 201


@bp.patch("/clients/<client_id>")
@require_scope("update:clients")
def update_client(client_id):
    """Change the properties sent, all or none."""
    body = read_body(schemas.ClientUpdate)
    sent = body.model_fields_set
    references = "client_authentication_methods" in sent or (
        body.signed_request_object is not None and "credentials" in body.signed_request_object.model_fields_set)
    if references:
        check_scope("update:client_credentials")
    if body.client_authentication_methods is not None and body.token_endpoint_auth_method is not None:
        raise bad_request("token_endpoint_auth_method and client_authentication_methods are mutually exclusive: "
                          "send one")
    for prop in ("name", "app_type", "grant_types", "callbacks", "require_pushed_authorization_requests",
                 "require_proof_of_possession", "require_pkce", "token_endpoint_auth_method",
                 "signed_request_object"):
        if prop in sent and getattr(body, prop) is None:
            raise bad_request(f"Payload validation error: '{prop}' may not be null")
    client = load_for_change(client_id)
    before = client.token_endpoint_auth_method
    # The rules judge the application as the request leaves it: leaving `none` for a secret comes
    # before grant types that need a confidential client, and becoming public after dropping them.
    leaves_none = body.token_endpoint_auth_method not in (None, NONE)
    if leaves_none:
        with about("token_endpoint_auth_method"):
            set_auth_method(client, body.token_endpoint_auth_method)
    description = "" if "description" in sent and body.description is None else body.description
    for prop, change in (("name", {"name": body.name}), ("description", {"description": description}),
                         ("app_type", {"app_type": body.app_type}), ("grant_types", {"grant_types": body.grant_types}),
                         ("callbacks", {"callback_urls": body.callbacks})):
        with about(prop):
            update_application(client, **change)
    apply_settings(client, body, par_expiry_sent="par_request_expiry" in sent)
    if body.signed_request_object is not None:
        if "credentials" in body.signed_request_object.model_fields_set:
            ids = [reference.id for reference in body.signed_request_object.credentials or []]
            with about("signed_request_object.credentials"):
                reference_credentials(client, JAR, ids)
        apply_signed_request_policy(client, body.signed_request_object.required)
    if body.client_authentication_methods is not None:
        method, listed = one_method(body.client_authentication_methods)
        with about(f"client_authentication_methods.{method}"):
            reference_credentials(client, method, [reference.id for reference in listed.credentials])
            set_auth_method(client, method)
    elif "client_authentication_methods" in sent and body.token_endpoint_auth_method is None:
        raise bad_request("client_authentication_methods: to stop using a credential method, set "
                          "token_endpoint_auth_method to the method that replaces it")
    if body.token_endpoint_auth_method is not None and not leaves_none:
        with about("token_endpoint_auth_method"):
            set_auth_method(client, body.token_endpoint_auth_method)
    db.session.commit()
    settings = sorted(sent - {"token_endpoint_auth_method", "client_authentication_methods"})
    if settings:
        record(client, "settings_changed", f"changed through the Management API: {', '.join(settings)}")
    if body.client_authentication_methods is not None:
        record(client, "credentials_referenced", f"{method} uses " + ", ".join(
            reference.id for reference in listed.credentials))
    if client.token_endpoint_auth_method != before:
        record(client, "auth_method_changed",
               f"authentication method changed from {before} to {client.token_endpoint_auth_method}")
    return show(client)


@bp.delete("/clients/<client_id>")
@require_scope("delete:clients")
def delete_client(client_id):
    """Delete the application with its grants and credentials; its log rows stay."""
    # Recorded first, while nothing is locked: the row keeps the client id, and loses only its link.
    client = load(client_id)
    record(client, "application_deleted", f"application {client.name!r} deleted")
    client = load_for_change(client_id)
    db.session.delete(client)
    db.session.commit()
    return "", 204


@bp.post("/clients/<client_id>/rotate-secret")
@require_scope("update:client_keys")
def rotate_client_secret(client_id):
    """A new secret, returned once; the old one stops working at once (Auth0: no grace period)."""
    client = load_for_change(client_id)
    with about("token_endpoint_auth_method"):
        rotate_secret(client)
    db.session.commit()
    record(client, "secret_rotated", "client secret rotated through the Management API; the old secret no longer works")
    return show(client, with_secret=True)


# --- helpers ----------------------------------------------------------------------------------

def apply_settings(client, body, par_expiry_sent: bool = False) -> None:
    """require_proof_of_possession, require_pkce, PAR and its expiry (null: the default)."""
    expiry = body.par_request_expiry
    if expiry is None and par_expiry_sent:
        expiry = DEFAULT_PAR_EXPIRY
    with about("require_pkce"):
        update_application(client, require_pkce=body.require_pkce)
    with about("par_request_expiry" if expiry is not None else "require_pushed_authorization_requests"):
        update_application(client, require_proof_of_possession=body.require_proof_of_possession,
                           require_pushed_authorization_requests=body.require_pushed_authorization_requests,
                           par_request_expiry=expiry)


def apply_signed_request_policy(client, required: bool | None) -> None:
    with about("signed_request_object.required"):
        update_authorization_request_policy(client, require_signed_request_object=required)


def one_method(methods) -> tuple[str, object]:
    """The one method a client_authentication_methods object names, and what it holds."""
    method = next(name for name in type(methods).model_fields if getattr(methods, name) is not None)
    return method, getattr(methods, method)


def create_inline_credentials(client, use: str, definitions: list, prop: str) -> None:
    """Register credentials defined inline on create, then make `use` rely on exactly them."""
    for index, definition in enumerate(definitions):
        with about(f"{prop}[{index}]"):
            add_inline_credential(client, definition)
    with about(prop):
        reference_credentials(client, use, [c.id for c in client.credentials if c.usage is None])


def add_inline_credential(client, definition):
    if definition.credential_type == "public_key":
        return add_public_key_credential(
            client, None, definition.pem, alg=definition.alg or "RS256", name=definition.name, kid=definition.kid,
            expires_at=definition.expires_at, parse_expiry_from_cert=bool(definition.parse_expiry_from_cert))
    if definition.credential_type == "x509_cert":
        return add_certificate_credential(client, definition.pem, name=definition.name, use=None)
    return add_subject_dn_credential(client, subject_dn=definition.subject_dn, pem=definition.pem,
                                     name=definition.name, use=None)

