"""An application's credentials: /api/v2/clients/{client_id}/credentials (Auth0's shapes).

A credential created here is registered for no use yet: it authenticates nothing until the
application names it in client_authentication_methods or signed_request_object (PATCH
/clients/{id}). The upload policy and the registry's rules are the dashboard's and the CLI's:
RSA of at least 2048 bits, no private keys, two per use, a key or certificate registered once.
"""
from blueprints.credential_documents import credential_document, iso
from blueprints.management_api import schemas
from blueprints.management_api.access import require_scope
from blueprints.management_api.api import bp
from blueprints.management_api.clients import load, load_for_change, record
from blueprints.management_api.errors import bad_request, not_found
from blueprints.management_api.payloads import about, read_body
from models import db
from models.auth_methods import PUBLIC_KEY, X509_CERT
from models.credential_registry import (
    add_certificate_credential,
    add_public_key_credential,
    add_subject_dn_credential,
    delete_credential,
    find_credential,
    set_credential_expiry,
)

# The properties each credential type takes besides credential_type and name (Auth0's schema notes).
PROPERTIES = {
    PUBLIC_KEY: {"pem", "alg", "parse_expiry_from_cert", "expires_at", "kid"},
    X509_CERT: {"pem"},
    "cert_subject_dn": {"subject_dn", "pem", "expires_at"},
}


@bp.get("/clients/<client_id>/credentials")
@require_scope("read:client_credentials")
def list_client_credentials(client_id):
    """Every credential of the application, used or not: a bare array, as Auth0 answers."""
    return [credential_document(credential) for credential in load(client_id).credentials]


@bp.get("/clients/<client_id>/credentials/<credential_id>")
@require_scope("read:client_credentials")
def get_client_credential(client_id, credential_id):
    return credential_document(load_credential(load(client_id), credential_id))


@bp.post("/clients/<client_id>/credentials")
@require_scope("create:client_credentials")
def create_client_credential(client_id):
    """Register a public key, a certificate or a subject DN; referenced by no method yet."""
    body = read_body(schemas.CredentialCreate)
    misplaced = sorted(body.model_fields_set - {"credential_type", "name"} - PROPERTIES[body.credential_type])
    if misplaced:
        raise bad_request(f"Payload validation error: '{misplaced[0]}' does not apply to a "
                          f"{body.credential_type} credential")
    if body.pem and len(body.pem) > 4096 and body.credential_type != PUBLIC_KEY:
        raise bad_request("Payload validation error: 'pem': a certificate may have at most 4096 characters")
    client = load_for_change(client_id)
    with about(body.credential_type if body.credential_type != PUBLIC_KEY else "pem"):
        credential = add_credential(client, body)
    db.session.commit()
    record(client, "credential_added", f"{body.credential_type} credential {credential.id} registered "
                                       "(not used by any method until the application references it)")
    return credential_document(credential), 201


def add_credential(client, body):
    if body.credential_type == PUBLIC_KEY:
        if body.pem is None:
            raise bad_request("Payload validation error: Missing required property: 'pem'")
        return add_public_key_credential(client, None, body.pem, alg=body.alg or "RS256", name=body.name,
                                         kid=body.kid, expires_at=body.expires_at,
                                         parse_expiry_from_cert=bool(body.parse_expiry_from_cert))
    if body.credential_type == X509_CERT:
        if body.pem is None:
            raise bad_request("Payload validation error: Missing required property: 'pem'")
        return add_certificate_credential(client, body.pem, name=body.name, use=None)
    return add_subject_dn_credential(client, subject_dn=body.subject_dn, pem=body.pem, name=body.name,
                                     expires_at=body.expires_at, use=None)


@bp.patch("/clients/<client_id>/credentials/<credential_id>")
@require_scope("update:client_credentials")
def update_client_credential(client_id, credential_id):
    """Only the expiry changes (Auth0); past it the credential verifies nothing."""
    body = read_body(schemas.CredentialUpdate)
    client = load_for_change(client_id)
    credential = load_credential(client, credential_id)
    with about("expires_at"):
        set_credential_expiry(credential, body.expires_at)
    db.session.commit()
    record(client, "credential_expiry_changed", f"credential {credential.id} now expires "
                                                f"{iso(credential.expires_at) or 'never'}")
    return credential_document(credential)


@bp.delete("/clients/<client_id>/credentials/<credential_id>")
@require_scope("delete:client_credentials")
def delete_client_credential(client_id, credential_id):
    """Delete a credential; the last one the method in force relies on stays until it is replaced."""
    client = load_for_change(client_id)
    credential = load_credential(client, credential_id)
    with about("credential_id"):
        delete_credential(client, credential)
    db.session.commit()
    record(client, "credential_deleted", f"credential {credential_id} deleted")
    return "", 204


def load_credential(client, credential_id: str):
    credential = find_credential(client, credential_id)
    if credential is None:
        raise not_found(f"Credential not found: the application has no credential {credential_id[:64]!r}")
    return credential
