"""Routes of the Credentials tab's "Authorization requests" section: JAR keys (RFC 9101) and the policy.

- Keys for signed authorization requests: at most two, RS256, RS384 or PS256, registered through
  models/credential_registry.py with use "jar" (same upload rules as Private Key JWT). A key pair
  already registered for Private Key JWT is refused with a sentence that says so. Renaming,
  expiry and deletion go through the shared row routes of credential_sections.py.
- Policy: require signed requests (Auth0 signed_request_object.required), require pushed
  requests (require_pushed_authorization_requests) and the request_uri lifetime (par_request_expiry).
Every change is a POST with a CSRF token and is written to the application's log.
"""
from flask import flash

from blueprints.dashboard.common import DUPLICATE_KEY, bp, commit_or_refuse, load_application, record_action
from blueprints.dashboard.credential_forms import AddJarKeyForm, RequestPolicyForm
from blueprints.dashboard.credentials_tab import back_to_credentials, render_credentials
from models import Credential, db
from models.applications import update_authorization_request_policy
from models.auth_methods import JAR, PRIVATE_KEY_JWT
from models.credential_registry import add_public_key_credential
from models.credential_uploads import parse_public_pem
from models.errors import CredentialError
from models.key_material import jwk_thumbprint

USE_NAMES = {PRIVATE_KEY_JWT: "Private Key JWT (client authentication)",
             JAR: "signed authorization requests (JAR)"}


@bp.post("/applications/<client_id>/credentials/jar-keys")
def add_jar_key(client_id):
    """Register a public key for signed authorization requests; problems go on the PEM field."""
    client = load_application(client_id)
    form = AddJarKeyForm()
    if form.validate_on_submit():
        added, key = commit_or_refuse(lambda: add_jar_key_credential(client, form), form.pem.errors,
                                      duplicate=DUPLICATE_KEY)
        if added:
            record_action(client, "jar_key_added", f"JAR key {key.kid} ({key.alg}) added")
            flash("Key added for signed authorization requests.", "success")
            return back_to_credentials(client, "jar-heading")
    return render_credentials(client, status=400, jar_form=form)


def add_jar_key_credential(client, form: AddJarKeyForm) -> Credential:
    """The registry's add, after saying which use holds the key pair already, if one does."""
    check_not_used_elsewhere(client, form.pem.data)
    return add_public_key_credential(client, JAR, form.pem.data, alg=form.alg.data, name=form.name.data or None)


def check_not_used_elsewhere(client, pem: str) -> None:
    """Say which use holds a key pair already (the registry refuses it too, in general words)."""
    try:
        thumbprint = jwk_thumbprint(parse_public_pem(pem).public_key)
    except CredentialError:
        return  # the registry reports what is wrong with the upload
    existing = db.session.execute(
        db.select(Credential).where(Credential.key_thumbprint == thumbprint)).scalar_one_or_none()
    if existing is None:
        return
    if existing.client_pk == client.id and existing.usage != JAR:
        raise CredentialError(
            f"This key is registered for {USE_NAMES.get(existing.usage, existing.usage)} on this application. "
            "A key pair serves one purpose only: generate a separate key pair for signed authorization requests.")


@bp.post("/applications/<client_id>/credentials/request-policy")
def save_request_policy(client_id):
    """Require JAR and/or PAR, and set the request_uri lifetime."""
    client = load_application(client_id)
    form = RequestPolicyForm()
    if form.validate_on_submit():
        saved, _ = commit_or_refuse(lambda: update_authorization_request_policy(
            client, form.require_signed_request_object.data, form.require_pushed_authorization_requests.data,
            form.par_request_expiry.data), form.require_signed_request_object.errors)
        if saved:
            record_action(client, "request_policy_changed", describe_policy(client))
            flash("Authorization request policy saved.", "success")
            return back_to_credentials(client, "request-policy-heading")
    return render_credentials(client, status=400, request_policy_form=form)


def describe_policy(client) -> str:
    """The saved policy, as the log shows it."""
    def on_off(setting):
        return "on" if setting else "off"
    return (f"require signed requests {on_off(client.require_signed_request_object)}, require PAR "
            f"{on_off(client.require_pushed_authorization_requests)}, PAR expiry {client.par_request_expiry} s")
