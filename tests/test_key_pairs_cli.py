"""`flask --app app keys generate`: a key pair for demos, written on the user's side (blueprints/cli/key_pairs.py).

The files it writes must be what the server accepts: the public key and the certificate go through
the same registry functions as a dashboard or CLI upload, and a token request signed with the
private key (or presenting the certificate) succeeds.
"""
import datetime as dt
import stat
import time
import uuid
from urllib.parse import quote

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from blueprints.cli.key_pairs import SAFE_NAME, KeyPairError, write_key_pair
from blueprints.dashboard.try_it import KEY_FILE_NAME
from models import Credential, db
from models.applications import find_application, set_auth_method
from models.credential_registry import add_certificate_credential, add_public_key_credential
from models.errors import CredentialError
from tests.factories import DEMO_API, ISSUER, TOKEN_URL, make_app

EDGE_SECRET = "edge-secret-for-key-pair-tests"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def app_config():
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET}


def generate(runner, *args):
    return runner.invoke(args=["keys", "generate", *args])


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_private_key_0600_the_public_key_and_says_which_to_upload(runner, tmp_path):
    out = tmp_path / "new" / "keys"  # created, parents too
    result = generate(runner, "billing", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == ["billing.key", "billing.pub.pem"]
    assert mode(out / "billing.key") == 0o600
    assert mode(out / "billing.pub.pem") & 0o022 == 0  # never writable by others
    assert (out / "billing.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert (out / "billing.pub.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    assert f"wrote {out / 'billing.key'}" in result.output
    assert f"wrote {out / 'billing.pub.pem'}" in result.output
    assert ("upload billing.pub.pem on the application's Credentials tab (Private Key JWT or JAR) with algorithm RS256"
            in result.output)
    assert "billing.key is your private key: never upload or share it" in result.output


def test_certificate_is_self_signed_for_the_name_and_valid_for_the_days_asked(runner, tmp_path):
    result = generate(runner, "laptop", "--out", str(tmp_path), "--certificate", "--days", "30", "--alg", "PS256")
    assert result.exit_code == 0, result.output
    certificate = x509.load_pem_x509_certificate((tmp_path / "laptop.crt").read_bytes())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "laptop"
    assert certificate.issuer == certificate.subject
    lifetime = certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29) < lifetime <= dt.timedelta(days=30)
    private_key = serialization.load_pem_private_key((tmp_path / "laptop.key").read_bytes(), password=None)
    assert certificate.public_key().public_numbers() == private_key.public_key().public_numbers()
    assert "with algorithm PS256" in result.output
    assert "upload laptop.crt" in result.output and "self_signed_tls_client_auth" in result.output
    assert "--cert laptop.crt --key laptop.key" in result.output


@pytest.mark.parametrize("existing", ["demo.key", "demo.pub.pem", "demo.crt"])
def test_refuses_to_overwrite_any_file_and_writes_nothing(runner, tmp_path, existing):
    out = tmp_path / "keys"
    out.mkdir()
    (out / existing).write_text("keep me")
    result = generate(runner, "demo", "--out", str(out), "--certificate")
    assert result.exit_code != 0
    assert "already exists" in result.output and "never overwritten" in result.output
    assert [path.name for path in out.iterdir()] == [existing]
    assert (out / existing).read_text() == "keep me"


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "-rf", "with space", "x" * 65, "café"])
def test_refuses_a_name_that_is_not_a_safe_file_name(runner, tmp_path, name):
    result = generate(runner, "--out", str(tmp_path / "out"), "--", name)
    assert result.exit_code != 0
    assert "is not a safe file name" in result.output
    assert not (tmp_path / "out").exists()


def test_refuses_a_certificate_valid_for_no_days(runner, tmp_path):
    result = generate(runner, "demo", "--out", str(tmp_path / "keys"), "--certificate", "--days", "0")
    assert result.exit_code != 0
    assert not (tmp_path / "keys").exists()


def test_write_key_pair_refuses_an_unknown_alg_and_reports_its_files(tmp_path):
    with pytest.raises(KeyPairError, match="must be one of"):
        write_key_pair(tmp_path, "demo", alg="HS256")
    files = write_key_pair(tmp_path, "demo", alg="RS384")
    assert (files.private_key, files.public_key, files.certificate) == (
        tmp_path / "demo.key", tmp_path / "demo.pub.pem", None)
    assert files.alg == "RS384"


def test_the_dashboard_reads_key_file_names_as_keys_generate_writes_them():
    """The Try-it snippets name NAME.key after a credential called NAME: the same rule on both sides."""
    assert KEY_FILE_NAME.pattern == SAFE_NAME.pattern


def test_the_public_key_registers_with_the_kid_printed_and_a_signed_token_request_succeeds(app, client, tmp_path):
    files = write_key_pair(tmp_path, "billing", alg="PS256")
    client_id, _ = make_app(app)
    with app.app_context():
        application = find_application(client_id)
        credential = add_public_key_credential(application, "private_key_jwt", files.public_key.read_text(),
                                               alg=files.alg, name="billing")
        set_auth_method(application, "private_key_jwt")
        db.session.commit()
        assert credential.kid == files.kid  # the RFC 7638 thumbprint, as the server computes it

    now = int(time.time())
    assertion = pyjwt.encode({"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": uuid.uuid4().hex,
                              "iat": now, "exp": now + 60},
                             files.private_key.read_bytes(), algorithm="PS256", headers={"kid": files.kid})
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_assertion_type": JWT_BEARER, "client_assertion": assertion})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["token_type"] == "Bearer"


def test_the_certificate_registers_for_self_signed_tls_client_auth_and_authenticates(app, client, tmp_path):
    files = write_key_pair(tmp_path, "laptop", certificate=True)
    client_id, _ = make_app(app)
    with app.app_context():
        application = find_application(client_id)
        add_certificate_credential(application, files.certificate.read_text(), name="laptop")
        set_auth_method(application, "self_signed_tls_client_auth")
        db.session.commit()
        # A key pair is registered once: its public key cannot also be a Private Key JWT key.
        with pytest.raises(CredentialError, match="already registered"):
            add_public_key_credential(application, "private_key_jwt", files.public_key.read_text())
        db.session.rollback()
        assert db.session.execute(db.select(db.func.count(Credential.id))).scalar_one() == 1

    # As the nginx edge forwards a presented certificate (RFC 8705 §2.2: no CA, so nginx says FAILED).
    headers = {"cname-api-key": EDGE_SECRET, "client-certificate-ca-verified": "FAILED:self signed certificate",
               "client-certificate": quote(files.certificate.read_text(), safe="")}
    response = client.post(TOKEN_URL, headers=headers, data={"grant_type": "client_credentials",
                                                            "client_id": client_id, "audience": DEMO_API})
    assert response.status_code == 200, response.get_json()
