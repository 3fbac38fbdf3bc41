"""RFC 7523 §2.2 and §3 (with RFC 7521 §4.2): private_key_jwt client authentication.

The application signs a short-lived JWT with its private key; AppCreds holds only public keys
(models/credential_registry.py). authenticate_private_key_jwt starts from the application the
front door loaded (named by the assertion's `sub`) and checks, in this order:
1. shape: client_assertion_type, size, one compact JWS, iss/sub/jti at most 64 characters;
2. header: alg on the allow-list, typ not another kind of JWT, no crit - before any key is touched;
3. key: the kid selects a current key (without one, each is tried); its alg must equal the header's
   (models/key_material.py selects them, as for request objects);
4. claims: iss, sub, aud (exactly the issuer), exp, lifetime, iat, nbf, jti;
5. replay: the jti is stored once per application under a unique constraint - only now, so a
   forged assertion cannot burn someone else's jti.
Header parameters that point at keys (jku, x5u, jwk, x5c) are ignored, never fetched.
Each check that passes says so with `passed(...)` for the inspector (blueprints/oauth/inspection.py);
one that fails raises, and the front door records it.
"""
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, url_for

from blueprints.oauth.errors import ClientAuthFailure
from blueprints.oauth.housekeeping import at_most_every
from blueprints.oauth.inspection import passed, show_jose
from blueprints.oauth.jws import BASE64URL, base64url_decode, is_numeric_date, json_object, verify_rsa_signature
from models.auth_methods import KEY_ALGORITHMS, PRIVATE_KEY_JWT
from models.key_material import KeyProblem, public_key_of, select_verification_keys
from models.used_assertions import delete_expired_jti, insert_jti, jti_kept_until, purge_used_assertions

log = logging.getLogger("appcreds.private_key_jwt")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_CLAIM_LENGTH = 64  # Auth0's limit for iss, sub and jti
# typ values meaning "a JWT" or, in draft-ietf-oauth-rfc7523bis, "a client assertion".
ACCEPTED_TYPES = ("jwt", "client-authentication+jwt")
PURGE_INTERVAL = 60.0  # seconds between purges of expired jti records, per process


@dataclass(frozen=True)
class Assertion:
    header: dict
    claims: dict
    signing_input: bytes
    signature: bytes


def authenticate_private_key_jwt(client, request):
    """The application, if one of its registered keys signed a valid client assertion."""
    assertion = read_assertion(request)
    check_header(assertion.header)
    check_signature(client, assertion)
    check_claims(client, assertion.claims)
    record_jti(client, assertion.claims)
    return client


# --- 1. shape ------------------------------------------------------------------------------------

def read_assertion(request) -> Assertion:
    """Split and decode the assertion, unverified; every problem with its shape raises."""
    form = request.form
    # RFC 7521 §4.2: client_assertion_type MUST be this URN for a JWT (RFC 7523 §2.2).
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise _shape("wrong_assertion_type", f"client_assertion_type must be {ASSERTION_TYPE}")
    passed("client_assertion_type is jwt-bearer (RFC 7523 §2.2)")
    value = form.get("client_assertion") or ""
    # RFC 7521 §4.2: client_assertion is REQUIRED.
    if not value:
        raise _shape("malformed_assertion", "client_assertion is required")
    # A bound on what we parse at all.
    max_bytes = int(current_app.config["APPCREDS_ASSERTION_MAX_BYTES"])
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise _shape("assertion_too_large", f"client_assertion may have at most {max_bytes} bytes")
    passed("client_assertion within the size limit", expected=f"at most {max_bytes} bytes", saw=f"{size} bytes")
    # RFC 7523 §2.2: one JWT, signed (RFC 7515 §7.1 compact form: three base64url parts; a JWE has five).
    parts = value.split(".")
    is_compact = len(parts) == 3 and all(BASE64URL.fullmatch(part) for part in parts)
    signature = base64url_decode(parts[2]) if is_compact else None
    if signature is None:
        raise _shape("malformed_assertion", "client_assertion must be one compact JWS: three base64url parts")
    # The claims were decoded once already, to find the client they name (find_client_id).
    decoded = getattr(request, "unverified_claims", None)
    claims = decoded[1] if decoded is not None and decoded[0] == parts[1] else json_object(parts[1])
    header = json_object(parts[0])
    if header is None or claims is None:
        raise _shape("malformed_assertion", "the client_assertion header and payload must be JSON objects")
    show_jose("client assertion", header, claims)
    # RFC 7515 §4.1.4: kid, when present, is a string.
    if "kid" in header and not isinstance(header["kid"], str):
        raise _shape("malformed_assertion", "the client_assertion kid must be a string")
    passed("one compact JWS: header and payload JSON objects, kid (if any) a string (RFC 7515 §7.1)")
    # Auth0's limits: iss, sub and jti have at most 64 characters.
    for name in ("iss", "sub", "jti"):
        if isinstance(claims.get(name), str) and len(claims[name]) > MAX_CLAIM_LENGTH:
            raise _shape("claim_too_long", f"iss, sub and jti may have at most {MAX_CLAIM_LENGTH} characters")
    passed(f"iss, sub and jti at most {MAX_CLAIM_LENGTH} characters (Auth0)")
    return Assertion(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def find_client_id(request) -> str | None:
    """The private_key_jwt mechanism: the client id an assertion names, unverified - its `sub`,
    else the body's client_id, else "".

    None when the body has no assertion. Never raises: a malformed assertion is reported by
    the check once the front door has seen every mechanism (two at once is the bigger fault).
    """
    form = request.form
    if "client_assertion" not in form and "client_assertion_type" not in form:
        return None
    sub = _unverified_sub(request, form.get("client_assertion") or "")
    return sub if sub is not None else form.get("client_id") or ""


def _unverified_sub(request, value: str) -> str | None:
    if len(value) > int(current_app.config["APPCREDS_ASSERTION_MAX_BYTES"]) or value.count(".") != 2:
        return None
    payload = value.split(".")[1]
    claims = json_object(payload)
    request.unverified_claims = (payload, claims)  # read_assertion reuses them
    sub = claims.get("sub") if claims else None
    return sub if isinstance(sub, str) and 0 < len(sub) <= MAX_CLAIM_LENGTH else None


# --- 2. header -----------------------------------------------------------------------------------

def check_header(header: dict) -> None:
    alg = header.get("alg")
    # RFC 7518 §3.1, RFC 8725 §3.1: only the RSA algorithms a key can be registered with; so none,
    # HS* (an HMAC keyed with the public key) and ES* are refused before any key is looked at.
    if alg not in KEY_ALGORITHMS:
        raise _shape("alg_not_allowed",
                     f"the client_assertion alg must be one of {', '.join(KEY_ALGORITHMS)}",
                     f"header alg {_show(alg)} is not allowed")
    passed("alg is on the allow-list (RFC 8725 §3.1)", expected=" or ".join(KEY_ALGORITHMS), saw=alg)
    # RFC 8725 §3.11: a JWT of another kind (e.g. oauth-authz-req+jwt, a signed authorization
    # request, RFC 9101 §10.8) must never pass as a client assertion.
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower().removeprefix("application/")
                            not in ACCEPTED_TYPES):
        raise _shape("wrong_typ", "the client_assertion typ must be JWT or client-authentication+jwt",
                     f"header typ {_show(typ)} is not a client assertion")
    passed("typ, if any, says a client assertion (RFC 8725 §3.11)", saw=typ)
    # RFC 7515 §4.1.11: extensions listed in crit MUST be understood; we understand none.
    if "crit" in header:
        raise _shape("crit_not_supported", "the client_assertion crit header parameter is not supported")
    passed("no crit header parameter (RFC 7515 §4.1.11)")


# --- 3. key and signature ------------------------------------------------------------------------

def check_signature(client, assertion: Assertion) -> None:
    """Verify with a registered, current key whose alg is the header's (kid selects, or try each)."""
    header, kid = assertion.header, assertion.header.get("kid")
    keys = select_verification_keys(client, PRIVATE_KEY_JWT, kid, header["alg"])
    # The application must hold at least one current key: deleted or expired keys verify nothing.
    if keys.problem is KeyProblem.NO_CURRENT_KEY:
        raise ClientAuthFailure("no_current_key", "the application has no current private_key_jwt key")
    # RFC 7515 §4.1.4: a kid names the key; it must be one of this application's current keys.
    if keys.problem is KeyProblem.EXPIRED_KID:
        raise ClientAuthFailure("credential_expired", f"kid {_show(kid)} names an expired key of the application")
    if keys.problem is KeyProblem.UNKNOWN_KID:
        raise ClientAuthFailure("unknown_kid", f"kid {_show(kid)} names no key of the application")
    # Auth0: alg must equal the alg registered for the key, so a key is only ever used one way.
    if keys.problem is KeyProblem.ALG_MISMATCH:
        raise ClientAuthFailure("alg_mismatch", f"no key{' with this kid' if kid else ''} is registered "
                                                f"for {header['alg']}")
    passed("a current key of the application, named by the kid if any, registered for the header's alg",
           expected=f"kid {kid}, {header['alg']}" if kid else header["alg"],
           saw=", ".join(f"{c.name} (kid {c.kid})" for c in keys.candidates))
    # RFC 7523 §3 item 9: the JWT MUST be digitally signed; the signature MUST verify.
    verified_by = next((c for c in keys.candidates if is_valid_signature(c, header["alg"], assertion)), None)
    if verified_by is None:
        raise ClientAuthFailure("bad_signature", f"the signature does not verify with {len(keys.candidates)} "
                                                 f"registered key(s)")
    passed("the signature verifies (RFC 7523 §3 item 9)", saw=f"key {verified_by.name} (kid {verified_by.kid})")


def is_valid_signature(credential, alg: str, assertion: Assertion) -> bool:
    return verify_rsa_signature(public_key_of(credential), alg, assertion.signing_input, assertion.signature)


# --- 4. claims -----------------------------------------------------------------------------------

def check_claims(client, claims: dict) -> None:
    # RFC 7523 §3 item 1: iss MUST be the client id.
    if claims.get("iss") != client.client_id:
        raise ClientAuthFailure("iss_mismatch", f"iss {_show(claims.get('iss'))} is not the client id")
    passed("iss is the client id (RFC 7523 §3 item 1)", expected=client.client_id, saw=claims.get("iss"))
    # RFC 7523 §3 item 2.B: for client authentication, sub MUST be the client id.
    if claims.get("sub") != client.client_id:
        raise ClientAuthFailure("sub_mismatch", f"sub {_show(claims.get('sub'))} is not the client id")
    passed("sub is the client id (RFC 7523 §3 item 2.B)", expected=client.client_id, saw=claims.get("sub"))
    # RFC 7521 §4.2 (a client_id sent with the assertion identifies the same client): the front door
    # has already refused a body client_id other than the sub that named this application.
    check_audience(claims.get("aud"))
    check_times(claims)
    # RFC 7523 §3 item 7, RFC 7519 §4.1.7: a jti is required, so the assertion can be used once.
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise ClientAuthFailure("missing_jti", "the assertion has no jti (a non-empty string)")
    passed("jti is present (RFC 7523 §3 item 7)", saw=claims["jti"])


def check_audience(aud) -> None:
    issuer = current_app.config["APPCREDS_ISSUER"]
    accepted = [issuer]
    if current_app.config["APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD"]:
        accepted.append(issuer.rstrip("/") + url_for("oauth.token"))
    # RFC 7523 §3 item 3, narrowed as in draft-ietf-oauth-rfc7523bis and Auth0: aud is the issuer
    # identifier itself, one string compared exactly (trailing slash and case included), no array.
    if isinstance(aud, list):
        raise ClientAuthFailure("aud_mismatch", "aud is an array; it must be the issuer string")
    if aud not in accepted:
        raise ClientAuthFailure("aud_mismatch", f"aud {_show(aud)} is not the issuer {issuer!r}")
    passed("aud is the issuer, one string compared exactly (RFC 7523 §3 item 3)", expected=" or ".join(accepted),
           saw=aud)


def check_times(claims: dict) -> None:
    now, config = time.time(), current_app.config
    skew, max_lifetime = int(config["APPCREDS_CLOCK_SKEW"]), int(config["APPCREDS_ASSERTION_MAX_LIFETIME"])
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    # RFC 7523 §3 item 4: exp is required.
    if not is_numeric_date(exp):
        raise ClientAuthFailure("missing_exp", f"exp {_show(exp)} is missing or not a NumericDate")
    passed("exp is a NumericDate (RFC 7523 §3 item 4)", saw=exp)
    # RFC 7519 §4.1.5-6: iat and nbf, when present, are NumericDates.
    if any(value is not None and not is_numeric_date(value) for value in (iat, nbf)):
        raise ClientAuthFailure("malformed_claim", "iat or nbf is not a NumericDate")
    passed("iat and nbf, if any, are NumericDates (RFC 7519 §4.1.5-6)")
    # RFC 7523 §3 item 4: the assertion MUST be rejected once exp has passed.
    if now >= exp:
        raise ClientAuthFailure("expired", f"exp passed {now - exp:.0f} s ago")
    passed("exp has not passed", saw=f"expires in {exp - now:.0f} s")
    # Auth0: a client assertion lives at most 5 minutes (exp - iat, or exp - now without iat).
    lifetime = exp - (iat if iat is not None else now)
    if lifetime > max_lifetime:
        raise ClientAuthFailure("lifetime_too_long", f"lifetime {lifetime:.0f} s exceeds {max_lifetime} s")
    passed("lifetime within the limit (Auth0)", expected=f"at most {max_lifetime} s", saw=f"{lifetime:.0f} s")
    # RFC 7523 §3 item 6, Auth0: iat may be at most the clock skew in the future.
    if iat is not None and iat > now + skew:
        raise ClientAuthFailure("issued_in_future", f"iat is {iat - now:.0f} s in the future")
    if iat is not None:
        passed("iat not in the future, give or take the clock skew (RFC 7523 §3 item 6)", saw=iat)
    # RFC 7523 §3 item 5: not before nbf, give or take the clock skew.
    if nbf is not None and nbf > now + skew:
        raise ClientAuthFailure("not_yet_valid", f"nbf is {nbf - now:.0f} s in the future")
    if nbf is not None:
        passed("nbf has come, give or take the clock skew (RFC 7523 §3 item 5)", saw=nbf)


# --- 5. replay -----------------------------------------------------------------------------------

def record_jti(client, claims: dict) -> None:
    """RFC 7523 §3 item 7: accept a jti once per application until its exp (plus skew) has passed.

    The unique constraint on (client, jti) makes the first insert win atomically across
    workers and servers sharing the database (models/used_assertions.py). Own transactions,
    apart from the session.
    """
    skew = int(current_app.config["APPCREDS_CLOCK_SKEW"])
    expires_at = datetime.fromtimestamp(claims["exp"] + skew, UTC)
    jti = claims["jti"]
    if not insert_jti(client.id, jti, expires_at):
        # Taken. A record whose time is up protects nothing any more: drop it and try once more.
        if not delete_expired_jti(client.id, jti) or not insert_jti(client.id, jti, expires_at):
            raise ClientAuthFailure("replayed", f"jti {_show(jti)} already used: replay refused (its record is "
                                                f"kept until {jti_kept_until(client.id, jti)})")
    passed("jti not used before, now recorded once (RFC 7523 §3 item 7)", saw=jti)
    purge_used_assertions_now_and_then()


@at_most_every(PURGE_INTERVAL)
def purge_used_assertions_now_and_then() -> None:
    """Delete expired jti records, at most once a PURGE_INTERVAL per process (one indexed DELETE)."""
    purge_used_assertions()


# --- helpers -------------------------------------------------------------------------------------

def log_configuration_warnings(app) -> None:
    """Say at start-up when a weaker setting is on."""
    if app.config["APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD"]:
        log.warning("APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD is on: client assertions whose aud is the "
                    "token endpoint URL are accepted as well as the issuer. This weakens the defence against "
                    "audience injection (2025 disclosure, draft-ietf-oauth-rfc7523bis); turn it off once "
                    "clients send the issuer.")


def _shape(reason_code: str, description: str, reason: str | None = None) -> ClientAuthFailure:
    """A failure whose description may say exactly what is wrong: it is about the request's shape."""
    return ClientAuthFailure(reason_code, reason or description, description=description)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

