"""The inspector: every check the server made for an attempt, recorded by the code that decides.

tests/conftest.py checks every inspection any test records (tests/inspection_order.py): the failing
check is last, it is the event's reason code, and no check at or after it is claimed. So each
refusal test in tests/oauth/ is an inspector test for its reason code. This module checks that
those tables are complete and in the code's order, what an inspection shows, what it never shows,
what is kept, and the dashboard's pages.
"""
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from models import AuthEvent, db
from models.auth_event import purge_old_inspections
from models.timeutil import utcnow
from tests.dashboard.conftest import basic
from tests.factories import (
    DEMO_API,
    ISSUER,
    TOKEN_URL,
    make_app,
    make_assertion,
    make_jwt_app,
    make_rsa_key,
    register_key,
)
from tests.inspection_order import (
    CLIENT_SECRET,
    FRONT_DOOR,
    PRIVATE_KEY_JWT,
    REQUEST_OBJECT,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
)
from tests.oauth.flow import make_user, make_web_app
from tests.oauth.test_request_objects import request_object

ROOT = Path(__file__).resolve().parents[2]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RAISED = re.compile(r'(?:ClientAuthFailure|ClientRequestError|RequestObjectError|_shape)\(\s*"([a-z_]+)"')


@pytest.fixture
def app_config():
    return {"APPCREDS_INSPECT_SUCCESSES_EVERY": 0}  # keep every success: these tests read them


def inspections(app, client_id):
    """(event, inspection) of the application's client-authentication and request-object events, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            db.select(AuthEvent).where(AuthEvent.client_id_sent == client_id,
                                       AuthEvent.event_type.in_(("client_authentication", "authorization_request")))
            .order_by(AuthEvent.id).options(db.undefer(AuthEvent.inspection))).scalars().all()
        db.session.expunge_all()
        return [(row, row.inspection) for row in rows]


def passed_labels(inspection) -> list[str]:
    return [check["check"] for check in inspection["checks"] if check["outcome"] == "pass"]


def in_table_order(labels: list[str], table: list) -> list[str]:
    """The labels that belong to `table`, each replaced by its table label, in the order they came."""
    starts = [label for _codes, label in table if label]
    return [next(start for start in starts if label.startswith(start)) for label in labels
            if any(label.startswith(start) for start in starts)]


def assertion_request(client, assertion):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})


# --- the tables are the code's ---------------------------------------------------------------------

@pytest.mark.parametrize(("source", "tables"), [
    ("blueprints/oauth/client_auth/private_key_jwt.py", [PRIVATE_KEY_JWT]),
    ("blueprints/oauth/client_auth/client_secret.py", [CLIENT_SECRET]),
    ("blueprints/oauth/client_auth/mtls.py", [TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH]),
    ("blueprints/oauth/request_objects.py", [REQUEST_OBJECT]),
    ("blueprints/oauth/client_auth/__init__.py", [FRONT_DOOR]),
])
def test_every_reason_code_a_check_raises_is_in_its_table(source, tables):
    raised = set(RAISED.findall((ROOT / source).read_text()))
    assert raised, source
    listed = {code for table in tables for codes, _label in table for code in codes}
    assert raised - listed == set()


def test_a_private_key_jwt_success_lists_every_check_in_the_code_s_order(client, app):
    client_id, key, kid = make_jwt_app(app)
    now = utcnow().timestamp()
    assert assertion_request(client, make_assertion(client_id, key, kid, nbf=int(now))).status_code == 200
    (event, inspection), = inspections(app, client_id)
    assert event.outcome == "success" and inspection["subject"] == "client authentication"
    every_check = [label for _codes, label in PRIVATE_KEY_JWT if label]
    assert in_table_order(passed_labels(inspection), PRIVATE_KEY_JWT) == every_check
    labels = passed_labels(inspection)
    assert in_table_order(labels, FRONT_DOOR) == [label for _codes, label in FRONT_DOOR
                                                  if label and not label.startswith("body client_id")]
    assert labels.index("private_key_jwt is accepted at the token endpoint") == len(in_table_order(labels, FRONT_DOOR))


def test_a_client_secret_success_lists_the_front_door_then_the_secret(client, app):
    client_id, secret = make_app(app)
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                           headers=basic(client_id, secret))
    assert response.status_code == 200
    (_event, inspection), = inspections(app, client_id)
    labels = passed_labels(inspection)
    assert in_table_order(labels, CLIENT_SECRET) == [label for _codes, label in CLIENT_SECRET if label]
    assert labels[0].startswith("one client authentication mechanism")
    assert labels[-1].startswith("the secret matches the current secret")
    # The secret itself is never recorded, nor its digest.
    assert secret not in json.dumps(inspection)


def test_a_wrong_secret_in_the_body_is_never_recorded(client, app):
    client_id, secret = make_app(app, method="client_secret_post")
    wrong = secret[::-1]
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_id": client_id, "client_secret": wrong})
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    (event, inspection), = inspections(app, client_id)
    assert event.reason_code == "wrong_secret"
    assert inspection["checks"][-1] == {"outcome": "fail", "check": "wrong_secret",
                                        "reason": "the client secret does not match the current secret"}
    dumped = json.dumps(inspection)
    assert wrong not in dumped and secret not in dumped


# --- what an inspection shows -----------------------------------------------------------------------

def test_a_wrong_audience_shows_what_was_expected_and_seen_and_the_decoded_assertion(client, app):
    client_id, key, kid = make_jwt_app(app)
    assertion = make_assertion(client_id, key, kid, aud="https://other.example/")
    response = assertion_request(client, assertion)
    # The client learns nothing more than RFC 6749 §5.2 requires ...
    assert response.json == {"error": "invalid_client", "error_description": "client authentication failed"}
    (event, inspection), = inspections(app, client_id)
    # ... the administrator sees each check, the failing one last, with what it saw.
    assert inspection["checks"][-1]["check"] == "aud_mismatch"
    assert "'https://other.example/' is not the issuer" in inspection["checks"][-1]["reason"]
    signature_check = next(c for c in inspection["checks"] if c["check"].startswith("the signature verifies"))
    assert signature_check["saw"].endswith(f"(kid {kid})")
    assert inspection["jose"]["what"] == "client assertion"
    assert inspection["jose"]["header"] == {"alg": "RS256", "typ": "JWT", "kid": kid}
    assert inspection["jose"]["claims"]["aud"] == "https://other.example/"
    # Never the signature.
    assert assertion.split(".")[2] not in json.dumps(inspection)


def test_a_replayed_assertion_says_until_when_its_jti_is_kept(client, app):
    client_id, key, kid = make_jwt_app(app)
    assertion = make_assertion(client_id, key, kid)
    assert assertion_request(client, assertion).status_code == 200
    assert assertion_request(client, assertion).status_code == 401
    (_first, kept), (_second, refused) = inspections(app, client_id)
    assert passed_labels(kept)[-1].startswith("jti not used before")
    failure = refused["checks"][-1]
    assert failure["check"] == "replayed"
    assert re.search(r"already used: replay refused \(its record is kept until \d\d:\d\d:\d\d UTC\)",
                     failure["reason"])


def test_two_keys_the_inspection_names_the_one_that_verified(client, app):
    client_id, first_key, _ = make_jwt_app(app)
    second_key = make_rsa_key("inspection-second")
    second = register_key(app, client_id, second_key, name="laptop-2026")
    assert assertion_request(client, make_assertion(client_id, second_key)).status_code == 200
    (_event, inspection), = inspections(app, client_id)
    verified = next(c for c in inspection["checks"] if c["check"].startswith("the signature verifies"))
    assert verified["saw"] == f"key laptop-2026 (kid {second['kid']})"


def test_successes_are_kept_at_most_once_per_interval_failures_always(client, app):
    app.config["APPCREDS_INSPECT_SUCCESSES_EVERY"] = 60
    client_id, secret = make_app(app)
    for _ in range(2):
        assert client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                           headers=basic(client_id, secret)).status_code == 200
    for _ in range(2):
        assert client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                           headers=basic(client_id, "wrong")).status_code == 401
    kept = [(event.outcome, inspection is not None) for event, inspection in inspections(app, client_id)]
    assert kept == [("success", True), ("success", False), ("failure", True), ("failure", True)]


def test_old_inspections_are_cleared_in_batches_and_their_events_stay(client, app):
    client_id, secret = make_app(app)
    for _ in range(5):
        client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(client_id, "wrong"))
    with app.app_context():
        old = db.session.execute(db.select(AuthEvent).where(AuthEvent.client_id_sent == client_id,
                                                            AuthEvent.event_type == "client_authentication")
                                 .order_by(AuthEvent.id)).scalars().all()[:3]
        for event in old:
            event.created_at = utcnow() - timedelta(days=30)
        db.session.commit()
        assert purge_old_inspections(14, batch=2) == 3
        assert purge_old_inspections(14, batch=2) == 0
        assert purge_old_inspections(0) == 0  # 0 keeps them all
    shown = [inspection is not None for _event, inspection in inspections(app, client_id)]
    assert shown == [False, False, False, True, True]


# --- the dashboard -----------------------------------------------------------------------------------

def test_the_inspector_page_lists_the_checks_and_the_decoded_assertion(client, dashboard, app):
    client_id, key, kid = make_jwt_app(app, name="Nightly job")
    assertion = make_assertion(client_id, key, kid, aud="https://other.example/")
    assertion_request(client, assertion)
    (event, _inspection), = inspections(app, client_id)
    logs = dashboard.client.get(f"/applications/{client_id}/logs").get_data(as_text=True)
    assert f'href="/logs/{event.id}"' in logs
    response = dashboard.client.get(f"/logs/{event.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Checks of the client authentication, in the order the server made them" in html
    assert html.index("✓ passed") < html.index("✗ failed")
    assert "<code>aud_mismatch</code>" in html
    assert "The client assertion, decoded" in html and "https://other.example/" in html
    assert assertion.split(".")[2] not in html and "BEGIN" not in html


def test_the_inspector_page_needs_an_administrator_and_an_event(client, dashboard, app):
    client_id, _ = make_app(app)
    client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(client_id, "wrong"))
    (event, _), = inspections(app, client_id)
    assert dashboard.client.get("/logs/999999").status_code == 404
    anonymous = app.test_client()
    response = anonymous.get(f"/logs/{event.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_success_not_kept_says_why(client, dashboard, app):
    app.config["APPCREDS_INSPECT_SUCCESSES_EVERY"] = 60
    client_id, secret = make_app(app)
    for _ in range(2):
        client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                    headers=basic(client_id, secret))
    (_kept, _), (not_kept, _) = inspections(app, client_id)
    html = dashboard.client.get(f"/logs/{not_kept.id}").get_data(as_text=True)
    assert "No inspection is kept for this event." in html
    assert "at most once every 60 s" in html


def test_the_tenant_wide_logs_list_every_application_and_filter_by_client_id_and_outcome(client, dashboard, app):
    first, first_secret = make_app(app, name="First")
    second, _ = make_app(app, name="Second")
    client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                headers=basic(first, first_secret))
    client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(second, "wrong"))
    client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic("nobody-at-all", "x"))
    html = dashboard.client.get("/logs").get_data(as_text=True)
    assert "nobody-at-all" in html
    assert f'<a href="/applications/{first}/logs">First</a>' in html  # each application links to its Logs tab
    assert f'<a href="/applications/{second}/logs">Second</a>' in html
    only_second = dashboard.client.get("/logs", query_string={"client_id": second}).get_data(as_text=True)
    assert second in only_second and first not in only_second
    failures = dashboard.client.get("/logs", query_string={"outcome": "failure", "method": "client_secret_basic",
                                                           "endpoint": "token"}).get_data(as_text=True)
    assert second in failures and "nobody-at-all" in failures and first not in failures
    bad_time = dashboard.client.get("/logs", query_string={"since": "yesterday"})
    assert bad_time.status_code == 400 and "is not a time" in bad_time.get_data(as_text=True)


def test_a_request_object_s_checks_are_kept_at_par_for_success_and_failure(client, app):
    make_user(app)
    client_id, secret = make_web_app(app)
    key = make_rsa_key("jar-key-1")
    kid = register_key(app, client_id, key, "RS256", use="jar")["kid"]
    good = client.post("/oauth/par", data={"request": request_object(client_id, key, kid)}, auth=(client_id, secret))
    assert good.status_code == 201
    bad = client.post("/oauth/par", data={"request": request_object(client_id, key, kid, aud=ISSUER + "x")},
                      auth=(client_id, secret))
    assert bad.json["error"] == "invalid_request_object"
    objects = [(event, inspection) for event, inspection in inspections(app, client_id)
               if event.event_type == "authorization_request"]
    (verified, kept), (refused, failed) = objects
    assert (verified.outcome, verified.reason_code, kept["subject"]) == ("success", "request_object_verified",
                                                                         "request object")
    assert in_table_order(passed_labels(kept), REQUEST_OBJECT) == [label for _codes, label in REQUEST_OBJECT]
    assert kept["jose"]["header"]["typ"] == "oauth-authz-req+jwt"
    assert (refused.reason_code, failed["checks"][-1]["check"]) == ("aud_mismatch", "aud_mismatch")
    # The client authentication at PAR has its own inspection; the request object's does not repeat it.
    assert not any(label.startswith("one client authentication") for label in passed_labels(kept))


# --- the Management API's use of a token ------------------------------------------------------------

def test_the_management_api_records_each_refused_token_with_its_checks(client, app):
    from tests.management_api.conftest import MANAGEMENT_API, token_for

    client_id, secret = make_app(app, grant=MANAGEMENT_API, scopes=("read:clients",), name="Reader")
    token = token_for(client, client_id, secret)
    assert client.get("/api/v2/clients", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/api/v2/clients", json={"name": "x", "app_type": "non_interactive"},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 403
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/v2/clients", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    with app.app_context():
        uses = db.session.execute(db.select(AuthEvent).where(AuthEvent.event_type == "token_use")
                                  .order_by(AuthEvent.id).options(db.undefer(AuthEvent.inspection))).scalars().all()
        rows = [(event.outcome, event.reason_code, event.endpoint, event.client_id_sent, event.inspection)
                for event in uses]
    (accepted, refused_scope, refused_signature) = rows
    assert accepted[:4] == ("success", "token_accepted", "management_api", client_id)
    assert passed_labels(accepted[4])[-1].startswith("the token grants the scopes")
    assert refused_scope[:2] == ("failure", "insufficient_scope")
    assert refused_scope[4]["checks"][-1] == {"outcome": "fail", "check": "insufficient_scope",
                                              "reason": "the token does not grant create:clients"}
    # A token whose signature fails is filed under the client id it claims, and nothing after it is checked.
    assert refused_signature[:4] == ("failure", "bad_signature", "management_api", client_id)
    assert [check["outcome"] for check in refused_signature[4]["checks"]] == ["fail"]


def signed_by_the_server(app, claims: dict, typ: str = "at+jwt") -> str:
    """A JWT signed with the server's own current key, with any claims: tokens no token endpoint would issue."""
    import base64

    from models.signing_keys import ALGORITHMS
    from models.state import app_state

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    with app.app_context():
        key = app_state().signing_keys.current()
        header = {"alg": key.alg, "typ": typ, "kid": key.kid}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}".encode()
        return f"{signing_input.decode()}.{b64(ALGORITHMS[key.alg].sign(key.private_key, signing_input))}"


@pytest.mark.parametrize("reason_code", ["missing_authentication", "wrong_audience", "wrong_issuer", "expired",
                                         "not_an_access_token", "revoked", "certificate_missing"])
def test_each_refused_management_api_token_names_its_failing_check(client, app, reason_code):
    from tests.management_api.conftest import MANAGEMENT_API, token_for

    client_id, secret = make_app(app, grant=MANAGEMENT_API, scopes=("read:clients",), name="Reader")
    now = int(utcnow().timestamp())
    claims = {"iss": ISSUER, "sub": f"{client_id}@clients", "aud": MANAGEMENT_API, "iat": now, "exp": now + 60,
              "jti": "inspected-token", "client_id": client_id, "scope": "read:clients"}
    if reason_code == "wrong_audience":  # a token for the demo API, from the token endpoint itself
        demo_id, demo_secret = make_app(app)
        token = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                            headers=basic(demo_id, demo_secret)).json["access_token"]
        client_id = demo_id
    elif reason_code == "revoked":
        token = token_for(client, client_id, secret)
        assert client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret)).status_code == 200
    else:
        changed = {"wrong_issuer": {"iss": "https://another-issuer.example/"}, "expired": {"exp": now - 5},
                   "certificate_missing": {"cnf": {"x5t#S256": "A" * 43}}}.get(reason_code, {})
        token = signed_by_the_server(app, {**claims, **changed},
                                     typ="JWT" if reason_code == "not_an_access_token" else "at+jwt")
    headers = {} if reason_code == "missing_authentication" else {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v2/clients", headers=headers).status_code == 401
    with app.app_context():
        event = db.session.execute(db.select(AuthEvent).where(AuthEvent.event_type == "token_use")
                                   .options(db.undefer(AuthEvent.inspection))).scalar_one()
        assert (event.outcome, event.reason_code) == ("failure", reason_code)
        assert event.client_id_sent == (None if reason_code == "missing_authentication" else client_id)
        assert event.inspection["checks"][-1]["check"] == reason_code


def test_a_request_object_for_an_application_without_jar_keys_fails_at_the_key(client, app):
    make_user(app)
    client_id, secret = make_web_app(app)
    response = client.post("/oauth/par", data={"request": request_object(client_id, make_rsa_key("no-jar"))},
                           auth=(client_id, secret))
    assert response.json["error"] == "invalid_request_object"
    (_event, inspection), = [(e, i) for e, i in inspections(app, client_id) if e.event_type == "authorization_request"]
    assert inspection["checks"][-1]["check"] == "no_jar_key"
    assert not any(label.startswith("the signature verifies") for label in passed_labels(inspection))


def test_an_mtls_inspection_summarises_the_certificate_and_the_edge_s_checks(client, app):
    from tests.certificates import self_signed_certificate
    from tests.oauth.client_auth.test_mtls import EDGE_SECRET, edge_headers, register_certificate, token_request

    app.config["APPCREDS_EDGE_SECRET"] = EDGE_SECRET
    client_id, _ = make_app(app)
    certificate = self_signed_certificate("laptop-2026")
    credential_id = register_certificate(app, client_id, certificate)
    assert token_request(client, client_id, edge_headers(certificate, verdict="FAILED:self signed")).status_code == 200
    (_event, inspection), = inspections(app, client_id)
    labels = passed_labels(inspection)
    assert labels[0] == "the edge secret matches (constant-time comparison)"
    assert any(label.startswith("the certificate's SHA-256 thumbprint matches") for label in labels)
    summary = inspection["certificate"]
    assert summary["x5t#S256"] == certificate.thumbprint and summary["self_signed"] is True
    assert summary["edge_verdict"] == "FAILED:self signed" and "CN=laptop-2026" in summary["subject"]
    assert "BEGIN" not in json.dumps(inspection)  # a summary, never the certificate or a key

    # Its only certificate expires: the check that has no current credential fails, and nothing after it runs.
    with app.app_context():
        from models import Credential

        db.session.get(Credential, credential_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert token_request(client, client_id, edge_headers(certificate)).status_code == 401
    (_first, _), (refused, failed) = inspections(app, client_id)
    assert refused.reason_code == "no_current_credential" == failed["checks"][-1]["check"]


def test_the_inspector_page_shows_a_request_object_and_a_management_api_token(client, dashboard, app):
    from tests.management_api.conftest import MANAGEMENT_API

    make_user(app)
    web_id, web_secret = make_web_app(app)
    key = make_rsa_key("jar-key-1")
    kid = register_key(app, web_id, key, "RS256", use="jar")["kid"]
    client.post("/oauth/par", data={"request": request_object(web_id, key, kid)}, auth=(web_id, web_secret))
    reader_id, _ = make_app(app, grant=MANAGEMENT_API, scopes=("read:clients",), name="Reader")
    client.get("/api/v2/clients", headers={"Authorization": "Bearer not-a-token"})
    with app.app_context():
        request_event = db.session.execute(db.select(AuthEvent.id).where(
            AuthEvent.event_type == "authorization_request")).scalar_one()
        token_event = db.session.execute(db.select(AuthEvent.id).where(
            AuthEvent.event_type == "token_use")).scalar_one()
    html = dashboard.client.get(f"/logs/{request_event}").get_data(as_text=True)
    assert "Checks of the request object, in the order the server made them" in html
    assert "The request object, decoded" in html and "oauth-authz-req+jwt" in html
    html = dashboard.client.get(f"/logs/{token_event}").get_data(as_text=True)
    assert "Checks of the access token, in the order the server made them" in html
    assert "<code>bad_signature</code>" in html and reader_id not in html  # a malformed token claims no one
