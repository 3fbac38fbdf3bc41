"""The Credentials tab's Private Key JWT and mTLS sections, added through credentials.py's extension point.

- Private Key JWT (RFC 7523): up to two public keys; add (paste or file), rename, expiry, delete.
- mTLS (RFC 8705 §2): up to two self-signed certificates (self_signed_tls_client_auth) and up to
  two subject DNs (tls_client_auth), and the "require certificate-bound tokens" setting (§3).
Every rule is the registry's (models/credential_registry.py); a refusal is an error on the field
it is about, with status 400 and nothing stored. Each change is committed, then logged.
"""
from cryptography import x509
from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy.exc import IntegrityError

from blueprints.auth.forms import EmptyForm
from blueprints.credentials_cli import credential_document
from blueprints.dashboard import bp
from blueprints.dashboard.credential_forms import (
    AddCertificateForm,
    AddPrivateKeyJwtKeyForm,
    AddSubjectDnForm,
    ChangeExpiryForm,
    ProofOfPossessionForm,
    RenameCredentialForm,
)
from blueprints.dashboard.credentials import register_credential_section, render_credentials
from blueprints.dashboard.forms import sentence
from blueprints.dashboard.views import load_application, record_action
from models import db
from models.applications import update_application
from models.credential_registry import (
    active_credentials,
    add_certificate_credential,
    add_public_key_credential,
    add_subject_dn_credential,
    delete_credential,
    find_credential,
    list_credentials,
    rename_credential,
    set_credential_expiry,
)
from models.errors import CredentialError

# The uses whose credentials the rename / expiry / delete routes below manage: what to call
# one, and the heading of its section on the tab. (JAR keys are added in authorization_requests.py.)
SECTION_USES = {
    "private_key_jwt": ("Private Key JWT key", "private-key-jwt-heading"),
    "jar": ("JAR key", "jar-heading"),
    "self_signed_tls_client_auth": ("self-signed certificate", "mtls-certificates-heading"),
    "tls_client_auth": ("subject DN", "mtls-subject-dns-heading"),
}
DUPLICATE_KEY = "This public key is already registered."  # a twin committed between our check and ours


def private_key_jwt_context(client) -> dict:
    config = current_app.config
    return {
        "pkjwt_keys": list_credentials(client, "private_key_jwt"),
        "pkjwt_form": AddPrivateKeyJwtKeyForm(formdata=None, client=client),
        "pkjwt_issuer": config["APPCREDS_ISSUER"],
        "pkjwt_max_lifetime": int(config["APPCREDS_ASSERTION_MAX_LIFETIME"]),
        "credential_row_forms": {},
    }


def mtls_context(client) -> dict:
    config = current_app.config
    certificates = list_credentials(client, "self_signed_tls_client_auth")
    return {
        "mtls_certificates": certificates,
        "certificate_subjects": {c.id: certificate_subject(c) for c in certificates},
        "mtls_subject_dns": list_credentials(client, "tls_client_auth"),
        "mtls_certificate_form": AddCertificateForm(formdata=None),
        "mtls_dn_form": AddSubjectDnForm(formdata=None),
        "mtls_enabled": bool(config.get("APPCREDS_EDGE_SECRET")),
        "mtls_base_url": config.get("APPCREDS_MTLS_BASE_URL") or "",
        "pop_form": ProofOfPossessionForm(formdata=None,
                                          require_proof_of_possession=client.require_proof_of_possession),
        "credential_row_forms": {},
    }


def certificate_subject(credential) -> str:
    """The subject DN of a registered certificate, for the list (a damaged row must not break the tab)."""
    try:
        return x509.load_pem_x509_certificate((credential.pem or "").encode("ascii")).subject.rfc4514_string()
    except (ValueError, UnicodeEncodeError):
        return "(the stored certificate cannot be read)"


register_credential_section("dashboard/credentials/_private_key_jwt.html", private_key_jwt_context)
register_credential_section("dashboard/credentials/_mtls.html", mtls_context)


def back_to(client, anchor: str):
    return redirect(url_for("dashboard.credentials", client_id=client.client_id) + "#" + anchor)


def store(client, add, error_field, event_reason) -> object | None:
    """Run `add()` and commit; a refusal goes on `error_field` and nothing is stored. Logs the addition."""
    try:
        credential = add()
        db.session.commit()
    except CredentialError as error:
        db.session.rollback()
        error_field.errors.append(sentence(error))
        return None
    except IntegrityError:
        db.session.rollback()
        error_field.errors.append(DUPLICATE_KEY)
        return None
    # After the commit: the event log writes on its own connection (SQLite has one writer).
    record_action(client, "credential_added", event_reason(credential))
    return credential


# --- adding ----------------------------------------------------------------------------------

@bp.post("/applications/<client_id>/credentials/private-key-jwt")
def add_private_key_jwt_key(client_id):
    """Register a public key for Private Key JWT; every refusal is an error on its field."""
    client = load_application(client_id)
    form = AddPrivateKeyJwtKeyForm(client=client)
    if form.validate_on_submit():
        credential = store(client, lambda: add_public_key_credential(
            client, "private_key_jwt", form.pem_text(), alg=form.key_alg.data, name=form.key_name.data or None,
            kid=(form.key_kid.data or "").strip() or None, expires_at=form.expires_at,
            parse_expiry_from_cert=form.key_expiry_from_certificate.data,
        ), form.pem_source(), lambda c: f"Private Key JWT key {c.kid} ({c.alg}) added")
        if credential is not None:
            flash(f"Key {credential.name!r} added. Switch the method to private_key_jwt below when the "
                  "application is ready.", "success")
            return back_to(client, "private-key-jwt-heading")
    form.drop_private_keys()
    return render_credentials(client, status=400, pkjwt_form=form)


@bp.post("/applications/<client_id>/credentials/certificates")
def add_self_signed_certificate(client_id):
    """Register a certificate for self_signed_tls_client_auth."""
    client = load_application(client_id)
    form = AddCertificateForm()
    if form.validate_on_submit():
        credential = store(client, lambda: add_certificate_credential(
            client, form.pem_text(), name=form.certificate_name.data or None,
        ), form.pem_source(), lambda c: f"self-signed certificate {c.thumbprint_sha256} added")
        if credential is not None:
            flash(f"Certificate {credential.name!r} added.", "success")
            return back_to(client, "mtls-certificates-heading")
    form.drop_private_keys()
    return render_credentials(client, status=400, mtls_certificate_form=form)


@bp.post("/applications/<client_id>/credentials/subject-dns")
def add_subject_dn(client_id):
    """Register a subject DN for tls_client_auth, typed or taken from a certificate."""
    client = load_application(client_id)
    form = AddSubjectDnForm()
    if form.validate_on_submit():
        typed = (form.subject_dn.data or "").strip()
        credential = store(client, lambda: add_subject_dn_credential(
            client, subject_dn=typed or None, pem=None if typed else form.pem_text(),
            name=form.dn_name.data or None, expires_at=form.expires_at,
        ), form.dn_source(), lambda c: f"subject DN {c.subject_dn} added")
        if credential is not None:
            flash(f"Subject DN {credential.subject_dn} added.", "success")
            return back_to(client, "mtls-subject-dns-heading")
    form.drop_private_keys()
    return render_credentials(client, status=400, mtls_dn_form=form)


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
    document = credential_document(credential)
    identity = document.get("subject_dn") or document.get("thumbprint_sha256") or document["kid"]
    return f"{kind} {credential.name!r} ({identity})"


@bp.post("/applications/<client_id>/credentials/<credential_id>/rename")
def rename_section_credential(client_id, credential_id):
    """Rename a key, certificate or subject DN."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    form = RenameCredentialForm()
    old = credential.name
    if form.validate_on_submit():
        try:
            rename_credential(credential, form.name.data)
            db.session.commit()
        except CredentialError as error:
            db.session.rollback()
            form.name.errors.append(sentence(error))
        else:
            record_action(client, "credential_renamed", f"{describe(credential)} renamed from {old!r}")
            flash(f"Renamed to {credential.name!r}.", "success")
            return back_to(client, SECTION_USES[credential.usage][1])
    return render_credentials(client, status=400, credential_row_forms={credential.id: {"rename": form}})


@bp.post("/applications/<client_id>/credentials/<credential_id>/expiry")
def change_section_credential_expiry(client_id, credential_id):
    """Give a key or subject DN an expiry, or clear it (a certificate's expiry is its notAfter)."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    form = ChangeExpiryForm()
    if credential.credential_type == "x509_cert":
        form.validate_on_submit()
        form.expires_at.errors = ["A certificate expires with its own notAfter date. Delete it to stop it working "
                                  "sooner."]
    elif form.validate_on_submit():
        try:
            set_credential_expiry(credential, form.value)
            db.session.commit()
        except CredentialError as error:
            db.session.rollback()
            form.expires_at.errors.append(sentence(error))
        else:
            when = credential_document(credential)["expires_at"] or "never"
            record_action(client, "credential_expiry_changed", f"{describe(credential)} now expires {when}")
            flash(f"{credential.name!r} now expires: {when}.", "success")
            return back_to(client, SECTION_USES[credential.usage][1])
    return render_credentials(client, status=400, credential_row_forms={credential.id: {"expiry": form}})


@bp.route("/applications/<client_id>/credentials/<credential_id>/delete", methods=["GET", "POST"])
def delete_section_credential(client_id, credential_id):
    """Confirm, then delete: what the credential verified is refused from the moment this commits."""
    client = load_application(client_id)
    credential = load_section_credential(client, credential_id)
    if not EmptyForm().validate_on_submit():
        current = active_credentials(client, credential.usage)
        in_use = (client.require_signed_request_object if credential.usage == "jar"
                  else client.token_endpoint_auth_method == credential.usage)
        last_in_use = in_use and current == [credential]
        return render_template("dashboard/credentials/delete.html", client=client, credential=credential,
                               kind=SECTION_USES[credential.usage][0], last_in_use=last_in_use,
                               active_tab="credentials", tab_title="Delete credential")
    what, anchor = describe(credential), SECTION_USES[credential.usage][1]
    delete_credential(client, credential)
    db.session.commit()
    record_action(client, "credential_deleted", f"{what} deleted")
    flash(f"Deleted {what}. It is refused from now on.", "success")
    return back_to(client, anchor)


@bp.post("/applications/<client_id>/credentials/proof-of-possession")
def change_proof_of_possession(client_id):
    """RFC 8705 §3: require every token request to bring a client certificate the token is bound to."""
    client = load_application(client_id)
    form = ProofOfPossessionForm()
    if not form.validate_on_submit():
        return render_credentials(client, status=400, pop_form=form)
    required = bool(form.require_proof_of_possession.data)
    if required != client.require_proof_of_possession:
        update_application(client, require_proof_of_possession=required)
        db.session.commit()
        record_action(client, "proof_of_possession_changed",
                      f"certificate-bound tokens {'required' if required else 'no longer required'}")
    flash("Certificate-bound tokens are required: a token request without a client certificate gets no token."
          if required else "Certificate-bound tokens are not required.", "success")
    return back_to(client, "proof-of-possession-heading")
