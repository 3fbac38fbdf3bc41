"""APPCREDS_ACCESS_TOKEN_ALG: access tokens signed RS256, PS256, ES256 or EdDSA, verified by
independent libraries (PyJWT, jwcrypto) with the published JWKS, by the demo API and by the
Management API; switching algorithms; rotation; an algorithm other than the key's refused."""
import base64
import json
import multiprocessing
import time
from datetime import datetime

import jwt as pyjwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from models import db
from models.apis import MANAGEMENT_SCOPES
from models.auth_methods import KEY_ALGORITHMS
from models.signing_keys import ensure_key_file
from tests.conftest import _make_app
from tests.factories import DEMO_API, ISSUER, TOKEN_URL, make_app
from tests.servers import flask_cli, gunicorn

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
# RSA 2048: 256 bytes; ES256: R || S, 32 bytes each (RFC 7518 §3.4), not DER; Ed25519: 64 (RFC 8032 §5.1.6).
SIGNATURE_BYTES = {"RS256": 256, "PS256": 256, "ES256": 64, "EdDSA": 64}
MANAGEMENT_API = ISSUER + "api/v2/"
JWKS_URL = "/.well-known/jwks.json"
LIFETIME = 3600


def token_for(client, credentials, audience=DEMO_API, scope=None) -> str:
    data = {"grant_type": "client_credentials", "audience": audience, **({"scope": scope} if scope else {})}
    response = client.post(TOKEN_URL, data=data, auth=credentials)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def key_file(app) -> list[dict]:
    with open(f"{app.instance_path}/signing-keys.json") as handle:
        return json.load(handle)["keys"]


def published(client) -> dict:
    """kid -> alg of every key in the JWKS."""
    return {key["kid"]: key["alg"] for key in client.get(JWKS_URL).json["keys"]}


def verify_with_pyjwt(jwks: dict, token: str) -> dict:
    header = pyjwt.get_unverified_header(token)
    jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    assert jwk["alg"] == header["alg"]  # RFC 7517 §4.4: the key is published for the algorithm the token uses
    return pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience=DEMO_API, issuer=ISSUER)


def verify_with_jwcrypto(jwks: dict, token: str) -> dict:
    header = pyjwt.get_unverified_header(token)
    key_set = jwcrypto_jwk.JWKSet.from_json(json.dumps(jwks))
    key = key_set.get_key(header["kid"])
    assert key["alg"] == header["alg"]
    assert key.thumbprint() == header["kid"]  # RFC 7638: the kid is the key's own thumbprint
    verified = jwcrypto_jwt.JWT(jwt=token, key=key_set, algs=[key["alg"]], expected_type="JWS",
                                check_claims={"iss": ISSUER, "aud": DEMO_API, "exp": None})
    return json.loads(verified.claims)


@pytest.fixture
def extra_apps():
    """Apps started by a test on the same instance folder (a restart with other settings); disposed after."""
    started = []

    def start(instance_path, **config):
        started.append(_make_app(instance_path, **config))
        return started[-1]

    yield start
    for started_app in started:
        with started_app.app_context():
            db.engine.dispose()


def move_clock_to(monkeypatch, when: float):
    """Every time.time() (token expiry in the demo API, key publication) reads `when` from now on."""
    monkeypatch.setattr(time, "time", lambda: when)


# --- each algorithm, end to end ------------------------------------------------------------------

@pytest.fixture(params=ALGORITHMS)
def alg(request):
    return request.param


@pytest.fixture
def app_config(alg):
    return {"APPCREDS_ACCESS_TOKEN_ALG": alg}


def test_a_token_verifies_with_two_independent_libraries_and_the_published_jwks(client, app, alg):
    """RFC 9068 §2.1 typ at+jwt; RFC 7517 §4.4 each published key names its alg; RFC 7638 kid."""
    credentials = make_app(app)
    token = token_for(client, credentials)
    header = pyjwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == (alg, "at+jwt")
    jwks = client.get(JWKS_URL).json
    current = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    assert (current["kty"], current["alg"], current["use"]) == (KEY_TYPES[alg], alg, "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(current)  # public halves only
    signature = token.split(".")[2]
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == SIGNATURE_BYTES[alg]
    by_pyjwt, by_jwcrypto = verify_with_pyjwt(jwks, token), verify_with_jwcrypto(jwks, token)
    assert by_pyjwt == by_jwcrypto
    assert by_pyjwt["client_id"] == credentials[0] and by_pyjwt["exp"] - by_pyjwt["iat"] == LIFETIME


def test_the_demo_api_the_management_api_and_introspection_accept_it(client, app, alg):
    credentials = make_app(app)
    response = client.get("/api/demo/whoami", headers=bearer(token_for(client, credentials)))
    assert response.status_code == 200, response.json
    assert response.json["client_id"] == credentials[0]

    caller = make_app(app, grant=MANAGEMENT_API, scopes=tuple(MANAGEMENT_SCOPES), name="Deploy pipeline")
    management_token = token_for(client, caller, audience=MANAGEMENT_API, scope="read:clients")
    response = client.get("/api/v2/clients", headers=bearer(management_token))
    assert response.status_code == 200, response.get_data(as_text=True)

    introspected = client.post("/oauth/introspect", data={"token": token_for(client, credentials)}, auth=credentials)
    assert introspected.json["active"] is True


def test_discovery_and_the_jwks_name_the_algorithm_in_use(client, app, alg):
    metadata = client.get("/.well-known/oauth-authorization-server").json
    assert metadata["access_token_signing_alg_values_supported"][0] == alg
    # Client assertions (RFC 7523) are another matter: their algorithms do not follow the setting.
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == list(KEY_ALGORITHMS)
    newest = [entry for entry in key_file(app) if entry["status"] in ("current", "next")]
    assert [entry["alg"] for entry in newest] == [alg, alg]
    assert all(published(client)[entry["kid"]] == alg for entry in newest)


# --- an algorithm other than the key's ------------------------------------------------------------

def resigned_with_another_alg(app, token: str, alg: str) -> str:
    """The same claims, signed with the current RSA key itself, but under header alg `alg`."""
    current = next(entry for entry in key_file(app) if entry["status"] == "current")
    private_key = serialization.load_pem_private_key(current["pem"].encode(), password=None)
    header = {**pyjwt.get_unverified_header(token), "alg": alg}
    pad = {"PS256": padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), "RS256": padding.PKCS1v15()}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps(header).encode()) + "." + token.split(".")[1]
    return signing_input + "." + b64(private_key.sign(signing_input.encode(), pad[alg], hashes.SHA256()))


@pytest.mark.parametrize(("alg", "header_alg"), [("RS256", "PS256"), ("PS256", "RS256")])
def test_a_token_whose_alg_is_not_its_keys_is_refused(client, app, header_alg):
    """RFC 8725 §3.1: the key decides the algorithm; an RSA key published for one never verifies the other."""
    credentials = make_app(app)
    forged = resigned_with_another_alg(app, token_for(client, credentials), header_alg)
    jwk = next(key for key in client.get(JWKS_URL).json["keys"]
               if key["kid"] == pyjwt.get_unverified_header(forged)["kid"])
    # The signature itself is sound: a verifier that let the token choose its algorithm would accept it.
    pyjwt.decode(forged, pyjwt.PyJWK(jwk, algorithm=header_alg).key, algorithms=[header_alg], audience=DEMO_API)

    response = client.get("/api/demo/whoami", headers=bearer(forged))
    assert response.status_code == 401
    assert response.json["error_description"] == "the token is malformed or its signature does not verify"
    caller = make_app(app, grant=MANAGEMENT_API, scopes=("read:clients",), name="Deploy pipeline")
    forged_management = resigned_with_another_alg(
        app, token_for(client, caller, audience=MANAGEMENT_API), header_alg)
    assert client.get("/api/v2/clients", headers=bearer(forged_management)).status_code == 401
    assert client.post("/oauth/introspect", data={"token": forged}, auth=credentials).json == {"active": False}


# --- switching algorithms, rotating within one -----------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256"])
def test_switching_to_es256_keeps_the_rs256_key_until_its_tokens_have_expired(
        client, app, instance_path, extra_apps, monkeypatch):
    credentials = make_app(app)
    rs256_token = token_for(client, credentials)
    rs256_kid = pyjwt.get_unverified_header(rs256_token)["kid"]

    es256_app = extra_apps(instance_path, APPCREDS_ACCESS_TOKEN_ALG="ES256")  # the restart
    es256_client = es256_app.test_client()
    retired = next(entry for entry in key_file(es256_app) if entry["kid"] == rs256_kid)
    assert (retired["status"], retired["alg"]) == ("previous", "RS256")
    assert published(es256_client)[rs256_kid] == "RS256"
    assert pyjwt.get_unverified_header(token_for(es256_client, credentials))["alg"] == "ES256"
    metadata = es256_client.get("/.well-known/oauth-authorization-server").json
    assert metadata["access_token_signing_alg_values_supported"] == ["ES256", "RS256"]

    # The key stays published for the whole lifetime after it stopped signing (the time is in the file),
    # so at least until the last token it signed has expired; then it leaves the JWKS. Time only moves on.
    stopped = datetime.fromisoformat(retired["stopped_signing_at"]).timestamp()
    published_until = datetime.fromisoformat(retired["published_until"]).timestamp()
    expires = pyjwt.decode(rs256_token, options={"verify_signature": False})["exp"]
    assert published_until - stopped == LIFETIME and published_until >= expires
    move_clock_to(monkeypatch, expires - 1)
    assert es256_client.get("/api/demo/whoami", headers=bearer(rs256_token)).status_code == 200
    move_clock_to(monkeypatch, published_until - 1)
    assert rs256_kid in published(es256_client)
    move_clock_to(monkeypatch, published_until)
    assert es256_client.get("/api/demo/whoami", headers=bearer(rs256_token)).status_code == 401
    assert set(published(es256_client).values()) == {"ES256"}
    metadata = es256_client.get("/.well-known/oauth-authorization-server").json
    assert metadata["access_token_signing_alg_values_supported"] == ["ES256"]


@pytest.mark.parametrize("alg", ["ES256"])
def test_keys_rotate_stays_within_the_configured_algorithm(client, app, runner):
    credentials = make_app(app)
    before = token_for(client, credentials)
    next_kid = next(entry["kid"] for entry in key_file(app) if entry["status"] == "next")

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"signing with {next_kid} (ES256)"

    entries = {(entry["status"], entry["alg"]) for entry in key_file(app)}
    # The RS256 key retired when the app started with ES256 stays until its tokens expire.
    assert entries == {("previous", "RS256"), ("previous", "ES256"), ("current", "ES256"), ("next", "ES256")}
    after = token_for(client, credentials)
    assert pyjwt.get_unverified_header(after)["kid"] == next_kid
    jwks = client.get(JWKS_URL).json
    for token in (before, after):
        assert verify_with_pyjwt(jwks, token) == verify_with_jwcrypto(jwks, token)
        assert client.get("/api/demo/whoami", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("alg", ["ES256"])
def test_the_endpoints_page_shows_each_keys_algorithm(client, app, dashboard):
    html = client.get("/endpoints").get_data(as_text=True)
    for entry in key_file(app):
        row = html[html.index(f"<code>{entry['kid']}</code>"):]
        assert row[:row.index("</tr>")].count(f"<td>{entry['alg']}</td>") == 1
    assert html.count('<span class="badge">previous</span> <span class="nowrap">until ') == 1


# --- start-up -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["HS256", "es256", "none", ""])
def test_an_unknown_algorithm_refuses_to_start(instance_path, value, monkeypatch):
    keys_before = (instance_path / "signing-keys.json").read_text()
    message = f"APPCREDS_ACCESS_TOKEN_ALG must be one of RS256, PS256, ES256, EdDSA, not {value!r}"
    with pytest.raises(ValueError) as refused:
        _make_app(instance_path, APPCREDS_ACCESS_TOKEN_ALG=value)
    assert str(refused.value) == message
    monkeypatch.setenv("APPCREDS_ACCESS_TOKEN_ALG", value)
    with pytest.raises(ValueError) as refused:
        _make_app(instance_path)
    assert str(refused.value) == message
    assert (instance_path / "signing-keys.json").read_text() == keys_before


def test_a_key_file_without_alg_fields_is_rs256(instance_path, extra_apps):
    path = instance_path / "signing-keys.json"
    document = json.loads(path.read_text())
    for entry in document["keys"]:
        del entry["alg"]  # as written before APPCREDS_ACCESS_TOKEN_ALG existed
    path.write_text(json.dumps(document))
    kids = [entry["kid"] for entry in document["keys"]]

    legacy_app = extra_apps(instance_path)
    assert set(published(legacy_app.test_client()).items()) == {(kid, "RS256") for kid in kids}
    token = token_for(legacy_app.test_client(), make_app(legacy_app))
    assert pyjwt.get_unverified_header(token)["alg"] == "RS256"

    extra_apps(instance_path, APPCREDS_ACCESS_TOKEN_ALG="EdDSA")
    entries = {entry["kid"]: (entry["status"], entry["alg"]) for entry in json.loads(path.read_text())["keys"]}
    assert entries[pyjwt.get_unverified_header(token)["kid"]] == ("previous", "RS256")
    assert sorted(entries.values()) == [("current", "EdDSA"), ("next", "EdDSA"), ("previous", "RS256")]


def _start_worker(path, barrier):
    barrier.wait()
    ensure_key_file(path, "ES256", LIFETIME)


def test_workers_starting_at_once_switch_the_algorithm_once(instance_path):
    """Each gunicorn worker starts the app; the file lock lets the first switch and the others see it done."""
    path = instance_path / "signing-keys.json"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_start_worker, args=(path, barrier)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    entries = sorted((entry["status"], entry["alg"]) for entry in json.loads(path.read_text())["keys"])
    assert entries == [("current", "ES256"), ("next", "ES256"), ("previous", "RS256")]


@pytest.mark.e2e
def test_gunicorn_workers_started_with_es256_switch_once_and_sign_es256(tmp_path):
    instance = tmp_path / "instance"
    flask_cli(instance, "setup")  # RS256, the default
    settings = {"APPCREDS_ACCESS_TOKEN_ALG": "ES256"}
    with gunicorn(instance, workers=3, env=settings) as base_url:
        issuer = base_url + "/"
        settings["APPCREDS_ISSUER"] = issuer
        created = json.loads(flask_cli(instance, "clients", "create", "Socket test", "--app-type", "non_interactive",
                                       "--grant", issuer + "api/demo/", "--scope", "read:demo", "--json",
                                       env=settings).stdout)
        jwks_client = pyjwt.PyJWKClient(issuer + ".well-known/jwks.json")
        for _ in range(6):  # the requests reach several workers
            response = requests.post(base_url + "/oauth/token", timeout=10,
                                     auth=(created["client_id"], created["client_secret"]),
                                     data={"grant_type": "client_credentials", "audience": issuer + "api/demo/"})
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            assert pyjwt.get_unverified_header(token)["alg"] == "ES256"
            pyjwt.decode(token, jwks_client.get_signing_key_from_jwt(token).key, algorithms=["ES256"],
                         audience=issuer + "api/demo/", issuer=issuer)
        jwks = requests.get(issuer + ".well-known/jwks.json", timeout=5).json()
        assert sorted(key["alg"] for key in jwks["keys"]) == ["ES256", "ES256", "RS256"]
    entries = json.loads((instance / "signing-keys.json").read_text())["keys"]
    assert sorted((entry["status"], entry["alg"]) for entry in entries) == [
        ("current", "ES256"), ("next", "ES256"), ("previous", "RS256")]
