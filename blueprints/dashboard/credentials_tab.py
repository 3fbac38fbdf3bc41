"""The Credentials tab as one page: its sections in page order, and `render_credentials`.

`CREDENTIAL_SECTIONS` lists every section below the client ID, top to bottom: a template under
templates/dashboard/credentials/ and a function giving its variables for an application. To add a
section, write its template and context function and add it to the list; its routes go in a
module of their own (credentials.py, credential_sections.py, jar_par_section.py) that renders
the tab with `render_credentials` when a form is refused.
"""
from cryptography import x509
from flask import current_app, make_response, redirect, render_template, url_for

from blueprints.dashboard.credential_forms import (
    AddCertificateForm,
    AddJarKeyForm,
    AddPrivateKeyJwtKeyForm,
    AddSubjectDnForm,
    ProofOfPossessionForm,
    RequestPolicyForm,
)
from blueprints.dashboard.forms import ChangeAuthMethodForm
from blueprints.dashboard.try_it import try_it_context
from models.auth_methods import (
    JAR,
    MACHINE_TO_MACHINE,
    MTLS_METHODS,
    PRIVATE_KEY_JWT,
    SECRET_METHODS,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
)
from models.credential_registry import list_credentials, list_unreferenced_credentials


def secret_context(client) -> dict:
    """The client secret: masked, unless a Reveal or Rotate response passes `revealed_secret`."""
    return {"uses_secret": client.token_endpoint_auth_method in SECRET_METHODS,
            "revealed_secret": None, "reveal_notice": None, "reveal_error": None}


def method_context(client) -> dict:
    """The method switch, set to the stored method."""
    # formdata=None: on another form's POST (reveal, rotate) show the stored method, not that form's data.
    return {"method_form": ChangeAuthMethodForm(formdata=None,
                                                token_endpoint_auth_method=client.token_endpoint_auth_method)}


def private_key_jwt_context(client) -> dict:
    """The application's Private Key JWT keys, the form to add one, and what an assertion must carry."""
    config = current_app.config
    return {
        "pkjwt_in_use": client.token_endpoint_auth_method == PRIVATE_KEY_JWT,
        "pkjwt_keys": list_credentials(client, PRIVATE_KEY_JWT),
        "pkjwt_form": AddPrivateKeyJwtKeyForm(formdata=None, client=client),
        "pkjwt_issuer": config["APPCREDS_ISSUER"],
        "pkjwt_max_lifetime": int(config["APPCREDS_ASSERTION_MAX_LIFETIME"]),
    }


def mtls_context(client) -> dict:
    """Self-signed certificates, subject DNs, their forms, whether the edge is set up, certificate-bound tokens."""
    config = current_app.config
    certificates = list_credentials(client, SELF_SIGNED_TLS_CLIENT_AUTH)
    return {
        "mtls_in_use": client.token_endpoint_auth_method in MTLS_METHODS,
        "mtls_certificates": certificates,
        "certificate_subjects": {c.id: certificate_subject(c) for c in certificates},
        "mtls_subject_dns": list_credentials(client, TLS_CLIENT_AUTH),
        "mtls_certificate_form": AddCertificateForm(formdata=None),
        "mtls_dn_form": AddSubjectDnForm(formdata=None),
        "mtls_enabled": bool(config.get("APPCREDS_EDGE_SECRET")),
        "mtls_base_url": config.get("APPCREDS_MTLS_BASE_URL") or "",
        "pop_form": ProofOfPossessionForm(formdata=None,
                                          require_proof_of_possession=client.require_proof_of_possession),
    }


def certificate_subject(credential) -> str:
    """The subject DN of a registered certificate, for the list (a damaged row must not break the tab)."""
    try:
        return x509.load_pem_x509_certificate((credential.pem or "").encode("ascii")).subject.rfc4514_string()
    except (ValueError, UnicodeEncodeError):
        return "(the stored certificate cannot be read)"


def jar_par_context(client) -> dict:
    """Keys for signed authorization requests, the form to add one, and the JAR/PAR policy form.

    A machine-to-machine application makes no authorization requests, so the section is hidden for
    one, unless it has such keys or settings already (given through another door)."""
    jar_keys = list_credentials(client, JAR)
    return {
        "jar_par_shown": (client.app_type != MACHINE_TO_MACHINE or bool(jar_keys)
                          or client.require_signed_request_object or client.require_pushed_authorization_requests),
        "jar_keys": jar_keys,
        "jar_form": AddJarKeyForm(formdata=None),
        "request_policy_form": RequestPolicyForm(formdata=None, data={
            "require_signed_request_object": client.require_signed_request_object,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "par_request_expiry": client.par_request_expiry}),
    }


def unreferenced_context(client) -> dict:
    """Credentials registered through the Management API that no use references yet."""
    return {"unreferenced_credentials": list_unreferenced_credentials(client)}


# The sections of the tab, top to bottom: (template, function giving its variables for a client).
CREDENTIAL_SECTIONS = [
    ("dashboard/credentials/_secret.html", secret_context),
    ("dashboard/credentials/_method.html", method_context),
    ("dashboard/credentials/_try_it.html", try_it_context),
    ("dashboard/credentials/_private_key_jwt.html", private_key_jwt_context),
    ("dashboard/credentials/_mtls.html", mtls_context),
    ("dashboard/credentials/_jar_par.html", jar_par_context),
    ("dashboard/credentials/_unreferenced.html", unreferenced_context),
]


# The sections that hold a method's credential, by the methods they serve: the one in use comes first.
SECTION_METHODS = {
    "dashboard/credentials/_secret.html": SECRET_METHODS,
    "dashboard/credentials/_private_key_jwt.html": (PRIVATE_KEY_JWT,),
    "dashboard/credentials/_mtls.html": MTLS_METHODS,
}


def render_credentials(client, status: int = 200, **extra):
    """The Credentials tab for `client`; `extra` (a refused form, a revealed secret) overrides any section's variables.

    `credential_row_forms` maps a credential id to the forms of a refused rename or expiry POST, so
    their errors show on that credential's row.
    """
    method = client.token_endpoint_auth_method
    # The section of the method in use first; the others keep their listed order (a stable sort).
    templates = sorted((template for template, _ in CREDENTIAL_SECTIONS),
                       key=lambda template: 0 if method in SECTION_METHODS.get(template, ()) else 1)
    context = {"client": client, "active_tab": "credentials", "credential_row_forms": {},
               "credential_sections": templates}
    for _, section_context in CREDENTIAL_SECTIONS:
        context.update(section_context(client))
    context.update(extra)
    response = make_response(render_template("dashboard/credentials.html", **context), status)
    if context["revealed_secret"]:
        response.headers["Cache-Control"] = "no-store"  # keep the secret out of caches and history
    return response


def back_to_credentials(client, anchor: str = ""):
    """Redirect to the Credentials tab, at the heading of the section a change was made in."""
    return redirect(url_for("dashboard.credentials", client_id=client.client_id) + (f"#{anchor}" if anchor else ""))
