"""What the inspector may say: the order of each subject's checks, and a check of one recorded event.

Each table lists a subject's checks in the order the code makes them: the reason codes a check
raises when it fails, and the start of the label it records with `passed(...)` when it succeeds
(None: it fails or passes silently). `assert_truthful(event)` holds for every event a test records
(tests/conftest.py runs it on each app at teardown): the failing check is the last one listed, it
is the event's reason code, and no check at or after the failing one is claimed as passed.
"""
FRONT_DOOR = [
    (("no_client_authentication", "multiple_mechanisms", "malformed_basic_header", "malformed_assertion",
      "wrong_assertion_type"), "one client authentication mechanism"),
    (("rate_limited",), "not rate-limited"),
    (("missing_client_id", "credentials_in_query"), "no credentials in the query string"),
    (("client_id_mismatch",), "body client_id names the same client"),
    (("unknown_client",), "an application has this client id"),
    (("method_not_registered",), "the request uses the application's method"),
    (("method_not_allowed_here",), None),  # its label names the method: "... is accepted at the ... endpoint"
    (("not_verified",), None),  # the method's check found no credential of its kind to verify
]
FRONT_DOOR_DONE = " is accepted at the "

CLIENT_SECRET = [
    (("not_verified",), None),
    (("malformed_basic_header",), "Basic credentials decode"),
    (("no_secret",), "the application has a client secret"),
    (("wrong_secret",), "the secret matches the current secret"),
]

PRIVATE_KEY_JWT = [
    (("wrong_assertion_type",), "client_assertion_type is jwt-bearer"),
    (("assertion_too_large",), "client_assertion within the size limit"),
    (("malformed_assertion",), "one compact JWS"),
    (("claim_too_long",), "iss, sub and jti at most"),
    (("alg_not_allowed",), "alg is on the allow-list"),
    (("wrong_typ",), "typ, if any, says a client assertion"),
    (("crit_not_supported",), "no crit header parameter"),
    (("no_current_key", "credential_expired", "unknown_kid", "alg_mismatch"), "a current key of the application"),
    (("bad_signature",), "the signature verifies"),
    (("iss_mismatch",), "iss is the client id"),
    (("sub_mismatch",), "sub is the client id"),
    (("aud_mismatch",), "aud is the issuer"),
    (("missing_exp",), "exp is a NumericDate"),
    (("malformed_claim",), "iat and nbf, if any, are NumericDates"),
    (("expired",), "exp has not passed"),
    (("lifetime_too_long",), "lifetime within the limit"),
    (("issued_in_future",), "iat not in the future"),
    (("not_yet_valid",), "nbf has come"),
    (("missing_jti",), "jti is present"),
    (("replayed",), "jti not used before"),
]

EDGE_PROBLEMS = ("untrusted_certificate_source", "malformed_certificate_header")
TLS_CLIENT_AUTH = [
    (EDGE_PROBLEMS + ("not_verified",), None),
    (("certificate_not_ca_verified",), "the edge verified the certificate chain"),
    (("certificate_chain_invalid",), "the chain verifies against AppCreds' own CA bundle"),
    (("certificate_not_yet_valid", "certificate_expired"), "the certificate is within its validity period"),
    (("malformed_certificate", "not_for_client_auth"), "the extended key usage includes clientAuth"),
    (("no_current_credential", "subject_dn_mismatch"), "the subject DN equals a registered DN"),
    (("issuer_mismatch",), "the issuer is the CA registered with that DN"),
]
SELF_SIGNED_TLS_CLIENT_AUTH = [
    (EDGE_PROBLEMS + ("not_verified",), None),
    (("certificate_not_yet_valid", "certificate_expired"), "the certificate is within its validity period"),
    (("no_current_credential", "certificate_mismatch"), "the certificate's SHA-256 thumbprint matches"),
]

REQUEST_OBJECT = [
    (("malformed_request_object", "request_object_too_large"), "the request object is within the size limit"),
    (("encrypted_request_object", "malformed_request_object"), "one compact JWS, signed, not encrypted"),
    (("alg_not_allowed",), "alg is on the allow-list"),
    (("wrong_typ",), "typ, if any, says an authorization request"),
    (("crit_not_supported", "malformed_request_object"), "no crit header parameter"),
    (("no_jar_key", "credential_expired", "unknown_kid", "alg_mismatch"), "a current JAR key of the application"),
    (("bad_signature",), "the signature verifies"),
    (("iss_mismatch",), "iss is the client id"),
    (("aud_mismatch",), "aud is the issuer"),
    (("missing_client_id", "client_id_mismatch", "missing_response_type"), "client_id inside equals the one outside"),
    (("malformed_claim", "missing_exp", "missing_nbf", "expired", "exp_too_far", "not_yet_valid", "nbf_too_far",
      "issued_in_future", "lifetime_too_long"), "exp and nbf present"),
    (("bad_jti",), "jti is a string"),
    (("nested_request", "malformed_parameter"), "no request or request_uri inside"),
]

ACCESS_TOKEN = [  # the Management API's checks of a bearer token (blueprints/resource_server.py, access.py)
    (("missing_authentication", "bad_signature"), "a published key, named by the kid, verifies the signature"),
    (("not_an_access_token",), "typ is at+jwt"),
    (("wrong_issuer",), "iss is this issuer"),
    (("wrong_audience",), "aud names this API"),
    (("expired",), "exp has not passed"),
    (("revoked",), "not revoked"),
    (("certificate_missing", "certificate_mismatch"), "the certificate presented is the one the token is bound to"),
    (("insufficient_scope",), "the token grants the scopes"),
]

METHOD_CHECKS = {
    "client_secret_basic": CLIENT_SECRET, "client_secret_post": CLIENT_SECRET, "private_key_jwt": PRIVATE_KEY_JWT,
    "tls_client_auth": TLS_CLIENT_AUTH, "self_signed_tls_client_auth": SELF_SIGNED_TLS_CLIENT_AUTH, "none": [],
}


def labels_from(table: list, reason_code: str) -> list[str]:
    """Labels of the checks at and after the last position that raises `reason_code` (those must not pass)."""
    positions = [index for index, (codes, _label) in enumerate(table) if reason_code in codes]
    assert positions, f"{reason_code} is in no table: add it where its check is made"
    return [label for _codes, label in table[positions[-1]:] if label]


def assert_truthful(event) -> None:
    """The event's inspection, if any, tells the truth about its decision (see the module docstring)."""
    inspection = event.inspection
    if inspection is None:
        return
    checks = inspection["checks"]
    failures = [check for check in checks if check["outcome"] == "fail"]
    passes = [check["check"] for check in checks if check["outcome"] == "pass"]
    if event.outcome == "success":
        assert not failures, f"event {event.id}: a success with a failed check: {failures}"
        return
    assert len(failures) == 1 and checks[-1] is failures[0], f"event {event.id}: one failure, last: {checks}"
    assert failures[0]["check"] == event.reason_code, f"event {event.id}: {failures[0]} vs {event.reason_code}"
    if inspection["subject"] == "request object":
        table = REQUEST_OBJECT
    elif inspection["subject"] == "access token":
        table = ACCESS_TOKEN
    elif any(FRONT_DOOR_DONE in label for label in passes):
        table = METHOD_CHECKS[event.method]
    else:
        table = FRONT_DOOR
    not_made = labels_from(table, event.reason_code)
    claimed = [label for label in passes if any(label.startswith(start) for start in not_made)]
    assert not claimed, f"event {event.id} ({event.reason_code}) claims checks it never made: {claimed}"
