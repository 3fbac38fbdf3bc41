"""`flask --app app demo seed [--out DIR]`: a demo tenant for a class, ready in a minute.

One machine-to-machine application per client-authentication method, each granted the demo API;
a regular web application for the authorization-code flow with PKCE, JAR and PAR, and an end user
to sign in with; an application allowed to call the Management API. Their keys and certificates
are written to DIR (default: <instance>/demo) by the application's side of the demo, with
DIR/demo.json describing everything for the scripts in examples/.

Everything goes through the domain layer, as `clients` and `credentials` do (models/applications.py,
models/credential_registry.py), and every change is recorded with door "cli" (common.record).
Running it again changes nothing: an existing DIR/demo.json means the tenant is seeded.
"""
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app, url_for
from flask.cli import AppGroup
from sqlalchemy import inspect

from blueprints.cli.common import commit_or_fail, record
from blueprints.cli.credentials import describe
from blueprints.cli.demo_certificates import (
    CA_CERTIFICATE,
    issue_client_certificate,
    issue_edge_certificate,
    write_demo_ca,
    write_new_file,
)
from blueprints.cli.key_pairs import KeyPairError, KeyPairFiles, write_key_pair
from models import Client, User, db
from models.applications import create_application, find_application, grant_api, set_auth_method
from models.auth_methods import (
    AUTHORIZATION_CODE,
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    CREDENTIAL_METHODS,
    JAR,
    MACHINE_TO_MACHINE,
    PRIVATE_KEY_JWT,
    REFRESH_TOKEN,
    SECRET_METHODS,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
)
from models.credential_registry import add_certificate_credential, add_public_key_credential, add_subject_dn_credential

demo_cli = AppGroup("demo", help="A demo tenant for the scripts in examples/.")

DEMO_FILE = "demo.json"
DEMO_USER_EMAIL = "demo-user@example.com"
CALLBACK_URL = "http://127.0.0.1:8976/callback"  # RFC 8252 §7.3: plain http only on loopback
DEMO_SCOPE = "read:demo"
# What examples/management_api.py does: create an application, register its key and reference it,
# grant it the demo API, then delete it. Nothing more (Auth0: grant the least a job needs).
MANAGEMENT_SCOPES = ["create:clients", "update:clients", "delete:clients", "create:client_credentials",
                     "update:client_credentials", "create:client_grants"]
# The files in DIR, by key-pair name: NAME.key (the private key, 0600), NAME.pub.pem, NAME.crt.
PRIVATE_KEY_JWT_KEYS = ("private-key-jwt-1", "private-key-jwt-2")
JAR_KEY = "jar"
TLS_CERTIFICATE = "tls-client-auth"                   # issued by the demo CA
SELF_SIGNED_CERTIFICATE = "self-signed-tls-client-auth"
EDGE_CERTIFICATE = "edge"                             # the nginx edge's server certificate, for localhost
EXAMPLES = ["client_secret_basic.py", "client_secret_post.py", "private_key_jwt.py", "authorization_code_jar_par.py",
            "management_api.py", "tls_client_auth.py", "self_signed_tls_client_auth.py",
            "certificate_bound_token.py"]


@demo_cli.command("seed")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the application side's keys, certificates and demo.json go. [default: <instance>/demo]")
def seed(out_dir):
    """Create one demo application per method, their keys and certificates, and demo.json; once."""
    out_dir = (out_dir or Path(current_app.instance_path) / "demo").resolve()
    check_database_ready()
    if (out_dir / DEMO_FILE).exists():
        check_still_seeded(out_dir)
        click.echo(f"already seeded: {out_dir / DEMO_FILE} describes it; nothing changed")
        print_next_steps(out_dir)
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.ClickException(f"{out_dir} holds files but no {DEMO_FILE} (an interrupted seed?). "
                                   "Delete it, or choose another --out DIR, and run `demo seed` again.")
    try:
        document = seed_tenant(out_dir)
    except KeyPairError as error:
        raise click.ClickException(str(error)) from None
    write_new_file(out_dir / DEMO_FILE, (json.dumps(document, indent=2) + "\n").encode(), 0o600)
    click.echo(f"wrote {out_dir / DEMO_FILE} (mode 0600: it holds the demo's secrets)")
    print_next_steps(out_dir)


def check_database_ready() -> None:
    """The demo needs the migrated schema that `setup` creates."""
    if not inspect(db.engine).has_table(User.__tablename__):
        raise click.ClickException("the database has no tables yet: run `flask --app app setup` first")


def check_still_seeded(out_dir: Path) -> None:
    """Every application (and the user) demo.json names must still exist; else say how to start over."""
    document = read_demo_json(out_dir / DEMO_FILE)
    if document is None:
        raise click.ClickException(f"{out_dir / DEMO_FILE} is not a demo.json this command wrote. Delete "
                                   f"{out_dir} and run `demo seed` again to start over.")
    if document["issuer"] != current_app.config["APPCREDS_ISSUER"]:
        raise click.ClickException(
            f"{out_dir} was seeded for the issuer {document['issuer']}, but this server's issuer is "
            f"{current_app.config['APPCREDS_ISSUER']}: its API grants name the other one. Delete {out_dir} "
            "and run `demo seed` again to start over.")
    missing = [f"the {role} application ({application['client_id']})"
               for role, application in document["applications"].items()
               if find_application(application["client_id"]) is None]
    if find_user(document["user"]["email"]) is None:
        missing.append(f"the end user {document['user']['email']}")
    if missing:
        raise click.ClickException(
            f"seeded before, but deleted since: {', '.join(missing)}. To start over, delete {out_dir} and run "
            "`demo seed` again (the applications still there stay; `clients delete` removes them).")


def read_demo_json(path: Path) -> dict | None:
    """demo.json's content, or None when it is not JSON with the parts `check_still_seeded` reads."""
    try:
        document = json.loads(path.read_text())
    except ValueError:
        return None
    readable = (isinstance(document, dict) and isinstance(document.get("applications"), dict)
                and isinstance(document.get("user"), dict) and "issuer" in document)
    return document if readable else None


@dataclass
class SeededApplication:
    """One application the seed made: what the event log and demo.json need to know about it."""

    client: Client
    secret: str | None  # None once its method takes no secret
    created_with: str   # every application starts with a client secret, then switches (create_application)
    audience: str
    scopes: list[str]


def seed_tenant(out_dir: Path) -> dict:
    """Write the key material, then create everything in one transaction; returns demo.json's content."""
    issuer = current_app.config["APPCREDS_ISSUER"]
    demo_api, management_api = f"{issuer}api/demo/", f"{issuer}api/v2/"  # models/apis.py builtin_apis
    files = write_key_material(out_dir)
    password = secrets.token_urlsafe(12)

    def create_everything():
        seeded = {}

        def add(role, method, app_type=MACHINE_TO_MACHINE, audience=demo_api, scopes=(DEMO_SCOPE,), **settings):
            client, secret = create_application(f"Demo: {role}", app_type, method, **settings)
            grant_api(client, audience, list(scopes))
            seeded[role] = SeededApplication(client, secret, method, audience, list(scopes))
            return client

        for method in SECRET_METHODS:
            add(method, method)
        client = add(PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC)
        for name in PRIVATE_KEY_JWT_KEYS:  # two keys: rotate from the first to the second with no downtime
            add_public_key_credential(client, PRIVATE_KEY_JWT, pem_of(files[name].public_key), name=name)
        # RFC 8705 §2.1: the subject DN of the CA-issued certificate, its issuing CA pinned.
        add_subject_dn_credential(add(TLS_CLIENT_AUTH, CLIENT_SECRET_BASIC),
                                  pem=pem_of(files[TLS_CERTIFICATE].certificate), name=TLS_CERTIFICATE)
        # RFC 8705 §2.2: the self-signed certificate itself, recognised by its SHA-256 thumbprint.
        add_certificate_credential(add(SELF_SIGNED_TLS_CLIENT_AUTH, CLIENT_SECRET_BASIC),
                                   pem_of(files[SELF_SIGNED_CERTIFICATE].certificate), name=SELF_SIGNED_CERTIFICATE)
        for method in CREDENTIAL_METHODS:  # with their credentials registered, switch (dropping the secret)
            set_auth_method(seeded[method].client, method)
            seeded[method].secret = None
        client = add(AUTHORIZATION_CODE, CLIENT_SECRET_BASIC, "regular_web",
                     grant_types=[AUTHORIZATION_CODE, REFRESH_TOKEN], callback_urls=[CALLBACK_URL])
        add_public_key_credential(client, JAR, pem_of(files[JAR_KEY].public_key), name=JAR_KEY)
        add("management_api", CLIENT_SECRET_BASIC, audience=management_api, scopes=MANAGEMENT_SCOPES)
        create_or_reset_user(DEMO_USER_EMAIL, password)
        return seeded

    seeded = commit_or_fail(create_everything)
    for application in seeded.values():
        record_seeded(application)
        click.echo(f"created {application.client.name!r}: {application.client.client_id} "
                   f"({application.client.token_endpoint_auth_method})")
    click.echo(f"created the end user {DEMO_USER_EMAIL}")
    return demo_document(out_dir, issuer, demo_api, management_api, password, seeded, files)


def write_key_material(out_dir: Path) -> dict[str, KeyPairFiles]:
    """Key pairs (blueprints/cli/key_pairs.py), the demo CA and the certificates it issues, by name."""
    files = {name: write_key_pair(out_dir, name) for name in (*PRIVATE_KEY_JWT_KEYS, JAR_KEY)}
    files[SELF_SIGNED_CERTIFICATE] = write_key_pair(out_dir, SELF_SIGNED_CERTIFICATE, certificate=True)
    ca = write_demo_ca(out_dir)
    files[TLS_CERTIFICATE] = issue_client_certificate(ca, write_key_pair(out_dir, TLS_CERTIFICATE))
    files[EDGE_CERTIFICATE] = issue_edge_certificate(ca, out_dir)
    return files


def pem_of(path: Path) -> str:
    return path.read_text()


def create_or_reset_user(email: str, password: str) -> None:
    """The end user who signs in to the web application; one left by an earlier seed gets the new password."""
    user = find_user(email)
    if user is None:
        user = User(email=email, is_admin=False)
        db.session.add(user)
    else:
        user.end_sessions()
    user.set_password(password)


def find_user(email: str) -> User | None:
    return db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()


def record_seeded(application: SeededApplication) -> None:
    """The application's changes in its event log, in the words `clients` and `credentials` use."""
    client = application.client
    record(client, "application_created",
           f"application {client.name!r} created ({client.app_type}, {application.created_with})")
    record(client, "api_grants_changed", f"granted {application.audience} with scopes {' '.join(application.scopes)}")
    for credential in sorted(client.credentials, key=lambda credential: credential.name):
        record(client, "jar_key_added" if credential.usage == JAR else "credential_added",
               f"{describe(credential)} added")
    if client.token_endpoint_auth_method != application.created_with:
        record(client, "auth_method_changed", f"authentication method changed from {application.created_with} to "
                                              f"{client.token_endpoint_auth_method}")


def demo_document(out_dir, issuer, demo_api, management_api, password, seeded, files) -> dict:
    """demo.json: the application side of the demo, every path relative to the folder it is in."""

    def relative(path: Path) -> str:
        return str(path.relative_to(out_dir))

    def key(credential) -> dict:
        return {"kid": credential.kid, "alg": credential.alg,
                "private_key": relative(files[credential.name].private_key)}

    def with_secret(role) -> dict:
        return {"client_id": seeded[role].client.client_id, "client_secret": seeded[role].secret}

    def with_certificate(role, name) -> dict:
        return {"client_id": seeded[role].client.client_id, "certificate": relative(files[name].certificate),
                "private_key": relative(files[name].private_key)}

    pkjwt = seeded[PRIVATE_KEY_JWT].client
    web = seeded[AUTHORIZATION_CODE].client
    with current_app.test_request_context():  # url_for outside a request: the paths the routes have
        base = issuer.rstrip("/")
        endpoints = {"token_endpoint": base + url_for("oauth.token"),
                     "authorization_endpoint": base + url_for("authorize.authorize"),
                     "par_endpoint": base + url_for("oauth.par")}
    return {
        "issuer": issuer,
        **endpoints,
        "demo_api": {"audience": demo_api, "scope": DEMO_SCOPE},
        "management_api": {"audience": management_api},
        "user": {"email": DEMO_USER_EMAIL, "password": password},
        "mtls": {"ca_certificate": CA_CERTIFICATE, "edge_certificate": relative(files[EDGE_CERTIFICATE].certificate),
                 "edge_private_key": relative(files[EDGE_CERTIFICATE].private_key)},
        "applications": {
            CLIENT_SECRET_BASIC: with_secret(CLIENT_SECRET_BASIC),
            CLIENT_SECRET_POST: with_secret(CLIENT_SECRET_POST),
            PRIVATE_KEY_JWT: {"client_id": pkjwt.client_id,
                              "keys": [key(c) for c in sorted(pkjwt.credentials, key=lambda c: c.name)]},
            TLS_CLIENT_AUTH: with_certificate(TLS_CLIENT_AUTH, TLS_CERTIFICATE),
            SELF_SIGNED_TLS_CLIENT_AUTH: with_certificate(SELF_SIGNED_TLS_CLIENT_AUTH, SELF_SIGNED_CERTIFICATE),
            AUTHORIZATION_CODE: {**with_secret(AUTHORIZATION_CODE), "redirect_uri": CALLBACK_URL,
                                 "jar_key": key(web.credentials[0])},
            "management_api": with_secret("management_api"),
        },
    }


def print_next_steps(out_dir: Path) -> None:
    """What to run next: the server, then each example with this demo.json."""
    demo_json = out_dir / DEMO_FILE
    shown = os.path.relpath(demo_json) if demo_json.is_relative_to(Path.cwd()) else str(demo_json)
    click.echo("\nNext: start the server (`flask --app app run`, or `make run`), then run any example:")
    for example in EXAMPLES[:5]:
        click.echo(f"  .venv/bin/python examples/{example} {shown}")
    click.echo(f"The mTLS examples need the nginx edge in front of the server, trusting {out_dir / CA_CERTIFICATE} "
               "(examples/README.md shows how):")
    for example in EXAMPLES[5:]:
        click.echo(f"  .venv/bin/python examples/{example} {shown} --edge-url https://localhost:8443 "
                   f"--edge-ca {out_dir / CA_CERTIFICATE}")
