"""`flask --app app credentials ...`: the credential registry from the command line.

    credentials add CLIENT_ID --use private_key_jwt|jar --pem FILE [--alg RS256|RS384|PS256] [--name NAME]
                    [--kid KID] [--expires-at ISO8601 | --parse-expiry-from-cert] [--json]
    credentials add CLIENT_ID --use self_signed_tls_client_auth --pem CERT [--name NAME] [--json]
    credentials add CLIENT_ID --use tls_client_auth (--subject-dn DN [--issuer-dn DN] | --pem CERT)
                    [--name NAME] [--expires-at ISO8601] [--json]
    credentials list CLIENT_ID [--json]
    credentials rename CLIENT_ID CREDENTIAL_ID NAME
    credentials set-expiry CLIENT_ID CREDENTIAL_ID (--expires-at ISO8601 | --clear)
    credentials delete CLIENT_ID CREDENTIAL_ID

The same rules as the dashboard (models/credential_registry.py); a refusal prints its sentence
and exits non-zero, with nothing stored. Each change is committed, then recorded in the
application's event log. JSON output has the shape of Auth0's credential responses
(`credential_document`, blueprints/credential_documents.py, as every door shows it).
"""
import json

import click
from flask.cli import AppGroup

from blueprints.cli.common import commit_or_fail, load_application, record
from blueprints.credential_documents import credential_document
from models import credential_registry
from models.auth_methods import CERT_SUBJECT_DN, JAR, KEY_ALGORITHMS, PUBLIC_KEY, USES, X509_CERT
from models.credential_uploads import MAX_PEM_BYTES, parse_expires_at

credentials_cli = AppGroup("credentials", help="Registered keys and certificates.")

DUPLICATE_KEY = "This public key is already registered."  # a twin committed between the registry's check and ours
# The options each credential type takes besides --pem and --name; any other is a usage error.
TYPE_OPTIONS = {
    PUBLIC_KEY: ("--alg", "--kid", "--parse-expiry-from-cert", "--expires-at"),
    X509_CERT: (),
    CERT_SUBJECT_DN: ("--subject-dn", "--issuer-dn", "--expires-at"),
}


def _load_credential(client, credential_id):
    """One of this application's credentials; raises ClickException when it has no such credential."""
    credential = credential_registry.find_credential(client, credential_id)
    if credential is None:
        raise click.ClickException(f"application {client.client_id} has no credential {credential_id}")
    return credential


def _print_credential(credential, as_json):
    document = credential_document(credential)
    if as_json:
        click.echo(json.dumps(document))
        return
    for field in ("id", "kid", "alg", "name", "use", "credential_type", "subject_dn", "created_at", "expires_at",
                  "thumbprint_sha256"):
        if field in document:
            click.echo(f"{field + ':':<18}{document[field] if document[field] is not None else '-'}")
    if credential.credential_type == CERT_SUBJECT_DN:
        click.echo(f"{'issuer_dn:':<18}{credential.issuer_dn or '- (any trusted CA)'}")


@credentials_cli.command("add")
@click.argument("client_id")
@click.option("--use", type=click.Choice(tuple(USES)), required=True, help="What the credential is for.")
@click.option("--pem", "pem_file", type=click.File("rb"),
              help="private_key_jwt and jar: PEM public key (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY) or X.509 "
                   "certificate; mTLS: the client certificate (BEGIN CERTIFICATE). - reads stdin.")
@click.option("--subject-dn", help="tls_client_auth: the certificate subject DN in RFC 4514 form, "
                                   "e.g. CN=payments-service,O=Example Corp,C=US (instead of --pem).")
@click.option("--issuer-dn", help="tls_client_auth with --subject-dn: accept certificates from this issuing CA "
                                  "only (its DN in RFC 4514 form). With --pem, the certificate's issuer is pinned.")
@click.option("--alg", type=click.Choice(KEY_ALGORITHMS),
              help="private_key_jwt and jar: the key's signing algorithm. [default: RS256]")
@click.option("--name", help="A name to recognise the credential by.")
@click.option("--kid", help="Key ID (10-64 of [0-9a-zA-Z-_]); default: the RFC 7638 thumbprint.")
@click.option("--expires-at", help="ISO 8601; past it the credential verifies nothing.")
@click.option("--parse-expiry-from-cert", is_flag=True, help="Take the expiry from the certificate.")
@click.option("--json", "as_json", is_flag=True, help="Print the credential as JSON.")
def add_credential(client_id, use, pem_file, subject_dn, issuer_dn, alg, name, kid, expires_at,
                   parse_expiry_from_cert, as_json):
    """Register a public key, a certificate or a subject DN for an application."""
    check_options_for_use(use, pem_file, subject_dn, alg, kid, expires_at, parse_expiry_from_cert, issuer_dn)
    client = load_application(client_id)
    # One byte more than allowed, so the registry can say "too large".
    pem = pem_file.read(MAX_PEM_BYTES + 1) if pem_file is not None else None

    def action():
        expiry = parse_expires_at(expires_at) if expires_at else None
        if USES[use] == X509_CERT:
            return credential_registry.add_certificate_credential(client, pem, name=name)
        if USES[use] == CERT_SUBJECT_DN:
            return credential_registry.add_subject_dn_credential(client, subject_dn=subject_dn, pem=pem, name=name,
                                                                 expires_at=expiry, issuer_dn=issuer_dn)
        return credential_registry.add_public_key_credential(
            client, use, pem, alg=alg or "RS256", name=name, kid=kid, expires_at=expiry,
            parse_expiry_from_cert=parse_expiry_from_cert)

    credential = commit_or_fail(action, duplicate=DUPLICATE_KEY)
    # The dashboard logs a JAR key under its own event type (its section on the Credentials tab).
    record(client, "jar_key_added" if use == JAR else "credential_added", f"{describe(credential)} added")
    _print_credential(credential, as_json)


def check_options_for_use(use, pem_file, subject_dn, alg, kid, expires_at, parse_expiry_from_cert, issuer_dn=None):
    """Each use takes the options of its credential type; a misplaced one is a usage error, not ignored."""
    given = {"--alg": alg, "--kid": kid, "--parse-expiry-from-cert": parse_expiry_from_cert,
             "--subject-dn": subject_dn, "--issuer-dn": issuer_dn, "--expires-at": expires_at}
    misplaced = [option for option, value in given.items() if value and option not in TYPE_OPTIONS[USES[use]]]
    if misplaced:
        extra = " (a certificate's expiry is its notAfter)" if USES[use] == X509_CERT else ""
        raise click.UsageError(f"{misplaced[0]} does not apply to --use {use}{extra}")
    if USES[use] == CERT_SUBJECT_DN:
        if (pem_file is None) == (subject_dn is None):
            raise click.UsageError(f"--use {use} takes exactly one of --subject-dn and --pem")
    elif pem_file is None:
        raise click.UsageError(f"--use {use} needs --pem")


@credentials_cli.command("list")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_client_credentials(client_id, as_json):
    """List an application's credentials."""
    credentials = credential_registry.list_credentials(load_application(client_id))
    if as_json:
        click.echo(json.dumps([credential_document(c) for c in credentials]))
        return
    if not credentials:
        click.echo("no credentials")
    for credential in credentials:
        document = credential_document(credential)
        status = "expired" if credential.is_expired() else "current"
        if credential.credential_type == PUBLIC_KEY:
            identity = f"{document['alg']:<6} {status:<8} kid={document['kid']}"
        elif credential.credential_type == X509_CERT:
            identity = f"{status:<8} thumbprint={document['thumbprint_sha256']}"
        else:
            identity = f"{status:<8} subject_dn={document['subject_dn']}"
        click.echo(f"{document['id']}  {document['use']:<16} {identity}  "
                   f"expires={document['expires_at'] or 'never'}  {document['name']}")


@credentials_cli.command("rename")
@click.argument("client_id")
@click.argument("credential_id")
@click.argument("name")
def rename_client_credential(client_id, credential_id, name):
    """Rename a credential."""
    client = load_application(client_id)
    credential = _load_credential(client, credential_id)
    old = credential.name
    commit_or_fail(lambda: credential_registry.rename_credential(credential, name))
    record(client, "credential_renamed", f"{describe(credential)} renamed from {old!r}")
    click.echo(f"renamed {credential_id} to {credential.name}")


@credentials_cli.command("set-expiry")
@click.argument("client_id")
@click.argument("credential_id")
@click.option("--expires-at", help="ISO 8601.")
@click.option("--clear", is_flag=True, help="Remove the expiry: the key never expires.")
def set_client_credential_expiry(client_id, credential_id, expires_at, clear):
    """Give a credential an expiry, or clear it."""
    if bool(expires_at) == clear:
        raise click.UsageError("give exactly one of --expires-at and --clear")
    client = load_application(client_id)
    credential = _load_credential(client, credential_id)
    commit_or_fail(lambda: credential_registry.set_credential_expiry(
        credential, None if clear else parse_expires_at(expires_at)))
    when = credential_document(credential)["expires_at"] or "never"
    record(client, "credential_expiry_changed", f"{describe(credential)} now expires {when}")
    click.echo(f"{credential_id} expires {when}")


@credentials_cli.command("delete")
@click.argument("client_id")
@click.argument("credential_id")
def delete_client_credential(client_id, credential_id):
    """Delete a credential; what it verified (assertions, certificates) fails from now on."""
    client = load_application(client_id)
    credential = _load_credential(client, credential_id)
    what, described = _identity(credential), describe(credential)
    commit_or_fail(lambda: credential_registry.delete_credential(client, credential))
    record(client, "credential_deleted", f"{described} deleted")
    click.echo(f"deleted {credential_id} ({what}) from {client_id}")


def _identity(credential) -> str:
    """How a person recognises the credential: its kid, certificate thumbprint or subject DN."""
    if credential.credential_type == X509_CERT:
        return f"thumbprint {credential.thumbprint_sha256}"
    if credential.credential_type == CERT_SUBJECT_DN:
        return f"subject DN {credential.subject_dn}"
    return f"kid {credential.kid}"


def describe(credential) -> str:
    """The credential as the event log names it: its use, name and identity."""
    return f"{credential.usage} credential {credential.name!r} ({_identity(credential)})"
