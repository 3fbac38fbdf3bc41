"""The Credentials tab's "Authorization requests" section: JAR keys (RFC 9101) and the policy.

- Keys for signed authorization requests: at most two, RS256, RS384 or PS256, registered through
  models/credential_registry.py with use "jar" (same upload rules as Private Key JWT). A key pair
  already registered for Private Key JWT is refused with a sentence that says so. Renaming,
  expiry and deletion go through the shared routes of credential_sections.py.
- Policy: require signed requests (Auth0 signed_request_object.required), require pushed
  requests (require_pushed_authorization_requests) and the request_uri lifetime (par_request_expiry).
Every change is a POST with a CSRF token and is written to the application's log.
"""
from flask import flash, redirect, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from blueprints.dashboard import bp
from blueprints.dashboard.credentials import register_credential_section, render_credentials
from blueprints.dashboard.forms import SelectChoice, sentence
from blueprints.dashboard.views import load_application, record_action
from models import Credential, db
from models.applications import PAR_EXPIRY_RANGE, update_authorization_request_policy
from models.auth_methods import JAR, KEY_ALGORITHMS
from models.credential_registry import add_public_key_credential, list_credentials
from models.credential_uploads import parse_public_pem
from models.errors import ApplicationError, CredentialError
from models.key_material import jwk_thumbprint

USE_NAMES = {"private_key_jwt": "Private Key JWT (client authentication)",
             "jar": "signed authorization requests (JAR)"}


class AddJarKeyForm(FlaskForm):
    name = StringField("Name (optional)", validators=[Length(max=128)])
    alg = SelectField("Algorithm", choices=[SelectChoice(alg, alg) for alg in KEY_ALGORITHMS], default="RS256")
    pem = TextAreaField("Public key or certificate (PEM)", validators=[InputRequired("Paste a PEM public key.")])
    submit = SubmitField("Add key")


class RequestPolicyForm(FlaskForm):
    require_signed_request_object = BooleanField("Require signed authorization requests (JAR)")
    require_pushed_authorization_requests = BooleanField("Require pushed authorization requests (PAR)")
    par_request_expiry = IntegerField(
        "PAR request_uri lifetime (seconds)",
        validators=[InputRequired("Enter a number of seconds."),
                    NumberRange(*PAR_EXPIRY_RANGE, message="Between 10 and 600 seconds.")])
    submit = SubmitField("Save request policy")


def section_context(client) -> dict:
    return {
        "jar_keys": list_credentials(client, JAR),
        "jar_form": AddJarKeyForm(formdata=None),
        "request_policy_form": RequestPolicyForm(formdata=None, data={
            "require_signed_request_object": client.require_signed_request_object,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "par_request_expiry": client.par_request_expiry}),
    }


register_credential_section("dashboard/credentials/_authorization_requests.html", section_context)


@bp.post("/applications/<client_id>/credentials/jar-keys")
def add_jar_key(client_id):
    """Register a public key for signed authorization requests; problems go on the PEM field."""
    client = load_application(client_id)
    form = AddJarKeyForm()
    if form.validate_on_submit():
        try:
            check_not_used_elsewhere(client, form.pem.data)
            credential = add_public_key_credential(client, JAR, form.pem.data, alg=form.alg.data,
                                                   name=form.name.data or None)
            db.session.commit()
        except CredentialError as error:
            db.session.rollback()
            form.pem.errors.append(sentence(error))
        except IntegrityError:  # the same key registered concurrently
            db.session.rollback()
            form.pem.errors.append("This public key is already registered.")
        else:
            record_action(client, "jar_key_added", f"JAR key {credential.kid} ({credential.alg}) added")
            flash("Key added for signed authorization requests.", "success")
            return redirect(url_for("dashboard.credentials", client_id=client_id) + "#jar-heading")
    return render_credentials(client, status=400, jar_form=form)


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
        try:
            update_authorization_request_policy(
                client, form.require_signed_request_object.data, form.require_pushed_authorization_requests.data,
                form.par_request_expiry.data)
            db.session.commit()
        except ApplicationError as error:
            db.session.rollback()
            form.require_signed_request_object.errors = [sentence(error)]
        else:
            record_action(
                client, "request_policy_changed",
                f"require signed requests {'on' if client.require_signed_request_object else 'off'}, require PAR "
                f"{'on' if client.require_pushed_authorization_requests else 'off'}, PAR expiry "
                f"{client.par_request_expiry} s")
            flash("Authorization request policy saved.", "success")
            return redirect(url_for("dashboard.credentials", client_id=client_id) + "#request-policy-heading")
    return render_credentials(client, status=400, request_policy_form=form)
