"""`flask credentials add --use self_signed_tls_client_auth | tls_client_auth` (blueprints/cli/credentials.py),
and list / delete with mTLS credentials; the private_key_jwt behaviour is in test_credentials_cli.py."""
import json

import pytest

from tests.certificates import issue_client_certificate, name, self_signed_certificate, trusted_ca
from tests.factories import make_app, make_rsa_key, public_pem
from tests.test_credentials_cli import stored_count, write


@pytest.fixture
def client_id(app):
    return make_app(app)[0]


def add(runner, client_id, use, *options):
    return runner.invoke(args=["credentials", "add", client_id, "--use", use, *options])


# --- self_signed_tls_client_auth ------------------------------------------------------------------

def test_adds_a_self_signed_certificate_as_json(runner, client_id, tmp_path):
    issued = self_signed_certificate("cli-job")
    result = add(runner, client_id, "self_signed_tls_client_auth", "--pem", write(tmp_path, issued.pem),
                 "--name", "CLI job", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["credential_type"], document["use"], document["name"]) == (
        "x509_cert", "self_signed_tls_client_auth", "CLI job")
    assert document["thumbprint_sha256"] == issued.thumbprint
    assert document["expires_at"].startswith(issued.certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S"))
    assert document["id"].startswith("cred_") and document["kid"] is None


def test_prints_a_certificate_as_text(runner, client_id, tmp_path):
    issued = self_signed_certificate()
    result = add(runner, client_id, "self_signed_tls_client_auth", "--pem", write(tmp_path, issued.pem))
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines())
    assert lines["thumbprint_sha256"].strip() == issued.thumbprint
    assert lines["credential_type"].strip() == "x509_cert"


def test_reads_the_certificate_from_stdin(runner, client_id):
    result = runner.invoke(args=["credentials", "add", client_id, "--use", "self_signed_tls_client_auth",
                                 "--pem", "-"], input=self_signed_certificate().pem)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("make_pem, sentence", [
    (lambda: self_signed_certificate().key_pem, "must never leave the application"),
    (lambda: self_signed_certificate(expired=True).pem, "This certificate expired on"),
    (lambda: public_pem(make_rsa_key()), "not a certificate"),
], ids=["private-key", "expired", "public-key"])
def test_refuses_with_the_registrys_sentence_and_stores_nothing(app, runner, client_id, tmp_path, make_pem, sentence):
    result = add(runner, client_id, "self_signed_tls_client_auth", "--pem", write(tmp_path, make_pem()))
    assert result.exit_code == 1
    assert sentence in result.output
    assert stored_count(app) == 0


def test_refuses_a_third_certificate(runner, client_id, tmp_path):
    for index in range(2):
        pem_path = write(tmp_path, self_signed_certificate(f"c{index}").pem, f"c{index}.pem")
        assert add(runner, client_id, "self_signed_tls_client_auth", "--pem", pem_path).exit_code == 0
    result = add(runner, client_id, "self_signed_tls_client_auth", "--pem",
                 write(tmp_path, self_signed_certificate("c3").pem))
    assert result.exit_code == 1 and "already has 2 credentials" in result.output


@pytest.mark.parametrize("options, message", [
    ([], "--use self_signed_tls_client_auth needs --pem"),
    (["--expires-at", "2099-01-01"], "--expires-at does not apply to --use self_signed_tls_client_auth"),
    (["--alg", "RS256"], "--alg does not apply"),
    (["--subject-dn", "CN=x"], "--subject-dn does not apply"),
], ids=["no-pem", "expires-at", "alg", "subject-dn"])
def test_options_that_do_not_apply_are_usage_errors(app, runner, client_id, tmp_path, options, message):
    pem = ["--pem", write(tmp_path, self_signed_certificate().pem)] if options else []
    result = add(runner, client_id, "self_signed_tls_client_auth", *pem, *options)
    assert result.exit_code == 2 and message in result.output
    assert stored_count(app) == 0


# --- tls_client_auth --------------------------------------------------------------------------------

def test_adds_a_typed_subject_dn_normalised(runner, client_id):
    result = add(runner, client_id, "tls_client_auth", "--subject-dn", "2.5.4.3=payments,O=Example Corp,C=US",
                 "--expires-at", "2099-01-31T00:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["credential_type"] == "cert_subject_dn"
    assert document["subject_dn"] == "CN=payments,O=Example Corp,C=US"
    assert document["expires_at"] == "2099-01-31T00:00:00.000Z"


def test_takes_the_subject_dn_from_a_certificate(runner, client_id, tmp_path):
    issued = issue_client_certificate(trusted_ca(), name("payments-service"))
    result = add(runner, client_id, "tls_client_auth", "--pem", write(tmp_path, issued.pem), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["subject_dn"] == "CN=payments-service,O=AppCreds Tests,C=US"
    assert document["expires_at"] is not None


def test_adds_a_subject_dn_typed_with_lower_case_attribute_types(runner, client_id):
    """Issue 10: RFC 4514 §3 attribute types are case-insensitive; the canonical form is stored."""
    result = add(runner, client_id, "tls_client_auth", "--subject-dn", "cn=svc,ou=Clients,o=Example,c=US", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["subject_dn"] == "CN=svc,OU=Clients,O=Example,C=US"


def test_refuses_a_dn_that_does_not_parse(app, runner, client_id):
    result = add(runner, client_id, "tls_client_auth", "--subject-dn", "commonName=svc, O=Example")
    assert result.exit_code == 1 and "This subject DN does not parse" in result.output
    assert stored_count(app) == 0


def test_refuses_a_private_key_as_the_certificate(app, runner, client_id, tmp_path):
    key_pem = issue_client_certificate(trusted_ca(), name("svc")).key_pem
    result = add(runner, client_id, "tls_client_auth", "--pem", write(tmp_path, key_pem))
    assert result.exit_code == 1 and "must never leave the application" in result.output
    assert stored_count(app) == 0


@pytest.mark.parametrize("options, message", [
    ([], "takes exactly one of --subject-dn and --pem"),
    (["--subject-dn", "CN=svc", "--pem", "PEM"], "takes exactly one of --subject-dn and --pem"),
    (["--subject-dn", "CN=svc", "--kid", "some-kid-value"], "--kid does not apply to --use tls_client_auth"),
    (["--subject-dn", "CN=svc", "--parse-expiry-from-cert"], "--parse-expiry-from-cert does not apply"),
], ids=["neither", "both", "kid", "parse-expiry"])
def test_dn_usage_errors(app, runner, client_id, tmp_path, options, message):
    options = [write(tmp_path, self_signed_certificate().pem) if option == "PEM" else option for option in options]
    result = add(runner, client_id, "tls_client_auth", *options)
    assert result.exit_code == 2 and message in result.output
    assert stored_count(app) == 0


def test_private_key_jwt_still_needs_a_pem_and_takes_no_dn(runner, client_id, tmp_path):
    assert "--use private_key_jwt needs --pem" in add(runner, client_id, "private_key_jwt").output
    result = add(runner, client_id, "private_key_jwt", "--pem", write(tmp_path, public_pem(make_rsa_key())),
                 "--subject-dn", "CN=x")
    assert result.exit_code == 2 and "--subject-dn does not apply to --use private_key_jwt" in result.output


# --- list and delete with every credential type ---------------------------------------------------------

def test_list_and_delete_show_what_identifies_each_credential(runner, client_id, tmp_path):
    issued = self_signed_certificate()
    add(runner, client_id, "self_signed_tls_client_auth", "--pem", write(tmp_path, issued.pem))
    add(runner, client_id, "tls_client_auth", "--subject-dn", "CN=svc,O=Example")
    add(runner, client_id, "private_key_jwt", "--pem", write(tmp_path, public_pem(make_rsa_key()), "key.pem"))
    text = runner.invoke(args=["credentials", "list", client_id])
    assert text.exit_code == 0, text.output
    assert f"thumbprint={issued.thumbprint}" in text.output and "subject_dn=CN=svc,O=Example" in text.output
    documents = json.loads(runner.invoke(args=["credentials", "list", client_id, "--json"]).output)
    assert [d["credential_type"] for d in documents] == ["x509_cert", "cert_subject_dn", "public_key"]

    deleted = runner.invoke(args=["credentials", "delete", client_id, documents[0]["id"]])
    assert deleted.exit_code == 0 and f"(thumbprint {issued.thumbprint})" in deleted.output
    deleted = runner.invoke(args=["credentials", "delete", client_id, documents[1]["id"]])
    assert deleted.exit_code == 0 and "(subject DN CN=svc,O=Example)" in deleted.output
    deleted = runner.invoke(args=["credentials", "delete", client_id, documents[2]["id"]])
    assert deleted.exit_code == 0 and f"(kid {documents[2]['kid']})" in deleted.output
