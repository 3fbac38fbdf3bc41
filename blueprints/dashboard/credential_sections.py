"""Routes of the Credentials tab's Private Key JWT and mTLS sections, and of every credential's row.

- Private Key JWT (RFC 7523): up to two public keys, pasted or uploaded.
- mTLS (RFC 8705 §2): up to two self-signed certificates (self_signed_tls_client_auth), up to
  two subject DNs (tls_client_auth), and the "require certificate-bound tokens" setting (§3).
- Rename, expiry and delete, for those credentials and for JAR keys (added in jar_par_section.py).
Every rule is the registry's (models/credential_registry.py); a refusal is an error on the field
it is about, with status 400 and nothing stored. Each change is committed, then logged.
"""
from flask import abort, flash, render_template

from blueprints.auth.forms import EmptyForm
from blueprints.credential_documents import credential_document
from blueprints.dashboard.common import DUPLICATE_KEY, bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.credential_forms import (
    AddCertificateForm,
    AddPrivateKeyJwtKeyForm,
    AddSubjectDnForm,
    ChangeExpiryForm,
    ProofOfPossessionForm,
    RenameCredentialForm,
)
from blueprints.dashboard.credentials_tab import back_to_credentials, render_credentials
from models import db
from models.applications import update_application
from models.auth_methods import JAR, PRIVATE_KEY_JWT, SELF_SIGNED_TLS_CLIENT_AUTH, TLS_CLIENT_AUTH, X509_CERT
from models.credential_registry import (
    active_credentials,
    add_certificate_credential,
    add_public_key_credential,
    add_subject_dn_credential,
    delete_credential,
    find_credential,
    rename_credential,
    set_credential_expiry,
)

# The uses whose credentials the rename / expiry / delete routes below manage: what to call
# one, and the heading of its section on the tab.
SECTION_USES = {
    PRIVATE_KEY_JWT: ("Private Key JWT key", "private-key-jwt-heading"),
    JAR: ("JAR key", "jar-heading"),
    SELF_SIGNED_TLS_CLIENT_AUTH: ("self-signed certificate", "mtls-certificates-heading"),
    TLS_CLIENT_AUTH: ("subject DN", "mtls-subject-dns-heading"),
    None: ("credential not in use yet", "unreferenced-heading"),  # registered through the Management API
}


# --- adding ----------------------------------------------------------------------------------

def add_credential(client, form, form_name: str, use: str, add, logged, flashed):
    """What every add route does with its form: validate, register with `add()` and commit (a
    refusal goes on the field the PEM or DN came in), log `logged(credential)`, flash
    `flashed(credential)` and go back to the section; or show the tab again with the form's errors.
    """
    if form.validate_on_submit():
        added, credential = commit_or_refuse(add, form.refusal_field().errors, duplicate=DUPLICATE_KEY)
        if added:
            record_action(client, "credential_added", logged(credential))
            flash(flashed(credential), "success")
            return back_to_credentials(client, SECTION_USES[use][1])
    form.drop_private_keys()
    return render_credentials(client, status=400, **{form_name: form})


@bp.post("/applications/<client_id>/credentials/private-key-jwt")
def add_private_key_jwt_key(client_id):
    """Register a public key for Private Key JWT; every refusal is an error on its field."""
    client = load_application(client_id)
    form = AddPrivateKeyJwtKeyForm(client=client)
    return add_credential(
        client, form, "pkjwt_form", PRIVATE_KEY_JWT, lambda: add_public_key_credential(
            client, PRIVATE_KEY_JWT, form.pem_text(), alg=form.key_alg.data, name=form.key_name.data or None,
            kid=(form.key_kid.data or "").strip() or None, expires_at=form.expires_at,
            parse_expiry_from_cert=form.key_expiry_from_certificate.data),
        logged=lambda key: f"Private Key JWT key {key.kid} ({key.alg}) added",
        flashed=lambda key: f"Key “{key.name}” added. Switch the method to private_key_jwt below when the "
                            "application is ready.")


@bp.post("/applications/<client_id>/credentials/certificates")
def add_self_signed_certificate(client_id):
    """Register a certificate for self_signed_tls_client_auth."""
    client = load_application(client_id)
    form = AddCertificateForm()
    return add_credential(
        client, form, "mtls_certificate_form", SELF_SIGNED_TLS_CLIENT_AUTH,
        lambda: add_certificate_credential(client, form.pem_text(), name=form.certificate_name.data or None),
        logged=lambda certificate: f"self-signed certificate {certificate.thumbprint_sha256} added",
        flashed=lambda certificate: f"Certificate “{certificate.name}” added.")


@bp.post("/applications/<client_id>/credentials/subject-dns")
def add_subject_dn(client_id):
    """Register a subject DN for tls_client_auth, typed or taken from a certificate."""
    client = load_application(client_id)
    form = AddSubjectDnForm()
    typed = (form.subject_dn.data or "").strip()
    return add_credential(
        client, form, "mtls_dn_form", TLS_CLIENT_AUTH, lambda: add_subject_dn_credential(
            client, subject_dn=typed or None, pem=None if typed else form.pem_text(),
            name=form.dn_name.data or None, expires_at=form.expires_at),
        logged=lambda dn: f"subject DN {dn.subject_dn} added",
        flashed=lambda dn: f"Subject DN {dn.subject_dn} added.")


# --- changing and deleting -------------------------------------------------------------------

def load_section_credential(client, credential_id):
    """One of this application's Private Key JWT, JAR or mTLS credentials; 404 otherwise."""
    credential = find_credential(client, credential_id)
    if credential is None or credential.usage not in SECTION_USES:
        abort(404, description="This application has no such credential. It may have been deleted.")
    return credential


def describe(credential) -> str:
    """The credential as the log and flashes name it: kind, name and what identifies it."""
    kind = SECTION_USES[credential.usage][0]
    identity = credential.subject_dn or credential.thumbprint_sha256 or credential.kid
    return f"{kind} {credential.name!r} ({identity})"


@bp.post("/applications/<client_id>/credentials/<credential_id>/rename")
def rename_section_credential(client_id, credential_id):
    """Rename a key, certificate or subject DN."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    form = RenameCredentialForm()
    old = credential.name
    if form.validate_on_submit():
        renamed, _ = commit_or_refuse(lambda: rename_credential(credential, form.name.data), form.name.errors)
        if renamed:
            record_action(client, "credential_renamed", f"{describe(credential)} renamed from {old!r}")
            flash(f"Renamed to “{credential.name}”.", "success")
            return back_to_credentials(client, SECTION_USES[credential.usage][1])
    return render_credentials(client, status=400, credential_row_forms={credential.id: {"rename": form}})


@bp.post("/applications/<client_id>/credentials/<credential_id>/expiry")
def change_section_credential_expiry(client_id, credential_id):
    """Give a key or subject DN an expiry, or clear it (a certificate's expiry is its notAfter)."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    form = ChangeExpiryForm()
    if credential.credential_type == X509_CERT:
        form.validate_on_submit()
        form.expires_at.errors = ["A certificate expires with its own notAfter date. Delete it to stop it working "
                                  "sooner."]
    elif form.validate_on_submit():
        changed, _ = commit_or_refuse(lambda: set_credential_expiry(credential, form.value), form.expires_at.errors)
        if changed:
            when = credential_document(credential)["expires_at"] or "never"
            record_action(client, "credential_expiry_changed", f"{describe(credential)} now expires {when}")
            flash(f"“{credential.name}” now expires: {when}.", "success")
            return back_to_credentials(client, SECTION_USES[credential.usage][1])
    return render_credentials(client, status=400, credential_row_forms={credential.id: {"expiry": form}})


@bp.route("/applications/<client_id>/credentials/<credential_id>/delete", methods=["GET", "POST"])
def delete_section_credential(client_id, credential_id):
    """Confirm, then delete: what the credential verified is refused from the moment this commits."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    what, (kind, anchor) = describe(credential), SECTION_USES[credential.usage]
    refusals = []
    if EmptyForm().validate_on_submit():
        deleted, _ = commit_or_refuse(lambda: delete_credential(client, credential), refusals)
        if deleted:
            record_action(client, "credential_deleted", f"{what} deleted")
            flash(f"Deleted {what}. It is refused from now on.", "success")
            return back_to_credentials(client, anchor)
    in_use = (client.require_signed_request_object if credential.usage == JAR
              else client.token_endpoint_auth_method == credential.usage)
    last_in_use = in_use and active_credentials(client, credential.usage) == [credential]
    return render_template("dashboard/credentials/delete.html", client=client, credential=credential, kind=kind,
                           last_in_use=last_in_use, refusal=refusals[0] if refusals else None,
                           active_tab="credentials", tab_title="Delete credential"), 400 if refusals else 200


@bp.post("/applications/<client_id>/credentials/proof-of-possession")
def change_proof_of_possession(client_id):
    """RFC 8705 §3: require every token request to bring a client certificate the token is bound to."""
    client = load_application(client_id)
    form = ProofOfPossessionForm()
    if form.validate_on_submit():
        required = bool(form.require_proof_of_possession.data)
        if required != client.require_proof_of_possession:
            update_application(client, require_proof_of_possession=required)
            db.session.commit()
            record_action(client, "proof_of_possession_changed",
                          f"certificate-bound tokens {'required' if required else 'no longer required'}")
        flash("Certificate-bound tokens are required: a token request without a client certificate gets no "
              "token." if required else "Certificate-bound tokens are not required.", "success")
        return back_to_credentials(client, "proof-of-possession-heading")
    return render_credentials(client, status=400, pop_form=form)
