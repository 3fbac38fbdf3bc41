"""RFC 9101: JWT-Secured Authorization Requests (JAR), checked the way Auth0 does.

`check_request_object` returns the authorization parameters inside a signed request object,
or raises RequestObjectError, answered as `invalid_request_object` (RFC 9101 §6.3, §7). In order:
1. shape: at most 16 KB, one compact JWS (an encrypted request object is not supported);
2. header: alg RS256, RS384 or PS256 (never none, never HMAC), typ jwt or oauth-authz-req+jwt
   when present, no crit - all before any key is touched;
3. key: the kid selects one of the application's current JAR keys (without a kid each is
   tried) - never a Private Key JWT key; the key's registered alg must be the header's
   (models/key_material.py selects them, as for client assertions); the signature must verify;
4. claims: iss is the client id, aud exactly the issuer, client_id and response_type present and
   client_id equal to the query's; exp and nbf present, exp not passed and nbf not ahead, neither
   more than 60 minutes from now, exp at most 60 minutes after nbf (and after iat); jti at most
   64 bytes; no request or request_uri inside.
Only the parameters inside the object count (§5, §6.3); conflicting ones outside are ignored.
Key-pointing header parameters (jku, x5u, jwk, x5c) are ignored, never fetched.
Each check that passes says so with `passed(...)` for the inspector (blueprints/oauth/inspection.py);
the caller records the one that fails (`inspection.failed`).
"""
import time

from flask import current_app

from blueprints.oauth import inspection
from blueprints.oauth.errors import LoggedOAuth2Error
from blueprints.oauth.inspection import passed
from blueprints.oauth.jws import BASE64URL, base64url_decode, is_numeric_date, json_object, verify_rsa_signature
from models.auth_methods import JAR, KEY_ALGORITHMS
from models.key_material import KeyProblem, public_key_of, select_verification_keys

MAX_REQUEST_OBJECT_BYTES = 16 * 1024
MAX_TIME_DISTANCE = 60 * 60     # Auth0: exp and nbf at most 60 minutes from now; FAPI: exp - nbf too
MAX_JTI_BYTES = 64              # Auth0's limit
ACCEPTED_TYPES = ("jwt", "oauth-authz-req+jwt")
# The authorization request parameters AppCreds understands; other claims are not parameters.
AUTHORIZATION_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "audience",
                            "code_challenge", "code_challenge_method", "prompt")


class RequestObjectError(LoggedOAuth2Error):
    """RFC 9101 §7: `invalid_request_object`, with a reason code for the event log."""

    error = "invalid_request_object"
    status_code = 400


def check_request_object(client, value: str, outer_client_id: str) -> dict:
    """The authorization parameters of a valid request object signed by one of the client's JAR keys."""
    inspection.begin("request object")
    header, claims, signing_input, signature = read_request_object(value)
    check_header(header)
    check_signature(client, header, signing_input, signature)
    check_claims(client, claims, outer_client_id)
    return authorization_parameters(claims)


# --- 1. shape ------------------------------------------------------------------------------------

def read_request_object(value: str):
    if not isinstance(value, str) or not value:
        raise RequestObjectError("malformed_request_object", "the request parameter is empty")
    if len(value.encode("utf-8")) > MAX_REQUEST_OBJECT_BYTES:
        raise RequestObjectError("request_object_too_large",
                                 f"the request object may have at most {MAX_REQUEST_OBJECT_BYTES} bytes")
    passed("the request object is within the size limit", expected=f"at most {MAX_REQUEST_OBJECT_BYTES} bytes")
    parts = value.split(".")
    # RFC 9101 §6.1: encrypted request objects are optional; AppCreds accepts signed ones only.
    if len(parts) == 5:
        raise RequestObjectError("encrypted_request_object", "encrypted request objects are not supported; sign it")
    # RFC 9101 §4: a JWS in compact serialization: three base64url parts.
    if len(parts) != 3 or not all(BASE64URL.fullmatch(part) for part in parts[:2]) \
            or (parts[2] and not BASE64URL.fullmatch(parts[2])):
        raise RequestObjectError("malformed_request_object", "the request object must be one compact JWS")
    header, claims, signature = json_object(parts[0]), json_object(parts[1]), base64url_decode(parts[2])
    if header is None or claims is None or signature is None:
        raise RequestObjectError("malformed_request_object",
                                 "the request object header and payload must be JSON objects")
    inspection.show_jose("request object", header, claims)
    passed("one compact JWS, signed, not encrypted (RFC 9101 §4, §6.1)")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


# --- 2. header -----------------------------------------------------------------------------------

def check_header(header: dict) -> None:
    alg = header.get("alg")
    # RFC 9101 §10.2 and RFC 8725 §3.1: alg none and HMAC (keyed with a public key) are refused;
    # Auth0 allows RS256, RS384 and PS256, the algorithms a key can be registered with.
    if alg not in KEY_ALGORITHMS:
        raise RequestObjectError("alg_not_allowed",
                                 f"the request object alg must be one of {', '.join(KEY_ALGORITHMS)}")
    passed("alg is on the allow-list (RFC 9101 §10.2, RFC 8725 §3.1)", expected=" or ".join(KEY_ALGORITHMS), saw=alg)
    # RFC 9101 §4 and §10.8: typ, when present, says this JWT is an authorization request.
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str)
                            or typ.lower().removeprefix("application/") not in ACCEPTED_TYPES):
        raise RequestObjectError("wrong_typ", "the request object typ must be JWT or oauth-authz-req+jwt")
    passed("typ, if any, says an authorization request (RFC 9101 §10.8)", saw=typ)
    # RFC 7515 §4.1.11: crit extensions must be understood; AppCreds understands none.
    if "crit" in header:
        raise RequestObjectError("crit_not_supported", "the request object crit header is not supported")
    if "kid" in header and not isinstance(header["kid"], str):
        raise RequestObjectError("malformed_request_object", "the request object kid must be a string")
    passed("no crit header parameter; kid, if any, a string (RFC 7515 §4.1)")


# --- 3. key and signature ------------------------------------------------------------------------

def check_signature(client, header: dict, signing_input: bytes, signature: bytes) -> None:
    # Only keys registered for JAR: a Private Key JWT key signs client assertions, nothing else.
    keys = select_verification_keys(client, JAR, header.get("kid"), header["alg"])
    if keys.problem is KeyProblem.NO_CURRENT_KEY:
        raise RequestObjectError("no_jar_key", "the application has no key registered for signed requests")
    if keys.problem is KeyProblem.EXPIRED_KID:
        raise RequestObjectError("credential_expired", "the kid names an expired JAR key of the application")
    if keys.problem is KeyProblem.UNKNOWN_KID:
        raise RequestObjectError("unknown_kid", "no JAR key of the application has this kid")
    # Auth0: alg must equal the alg registered with the key.
    if keys.problem is KeyProblem.ALG_MISMATCH:
        raise RequestObjectError("alg_mismatch", f"no JAR key of the application is registered for {header['alg']}")
    passed("a current JAR key of the application (by kid, if any), registered for the header's alg",
           expected=header["alg"], saw=", ".join(f"{c.name} (kid {c.kid})" for c in keys.candidates))
    # RFC 9101 §6.2: the signature must validate with the client's registered key.
    verified_by = next((c for c in keys.candidates if is_valid_signature(c, header["alg"], signing_input, signature)),
                       None)
    if verified_by is None:
        raise RequestObjectError("bad_signature", "the request object signature does not verify")
    passed("the signature verifies (RFC 9101 §6.2)", saw=f"key {verified_by.name} (kid {verified_by.kid})")


def is_valid_signature(credential, alg: str, signing_input: bytes, signature: bytes) -> bool:
    return verify_rsa_signature(public_key_of(credential), alg, signing_input, signature)


# --- 4. claims -----------------------------------------------------------------------------------

def check_claims(client, claims: dict, outer_client_id: str) -> None:
    issuer = current_app.config["APPCREDS_ISSUER"]
    # RFC 9101 §4 (and Auth0): iss is the client id ...
    if claims.get("iss") != client.client_id:
        raise RequestObjectError("iss_mismatch", "the request object iss must be the client id")
    passed("iss is the client id (RFC 9101 §4)", expected=client.client_id, saw=claims.get("iss"))
    # ... and aud the authorization server's issuer identifier, exactly (Auth0: with the trailing slash).
    if claims.get("aud") != issuer:
        raise RequestObjectError("aud_mismatch", f"the request object aud must be the issuer {issuer}")
    passed("aud is the issuer, exactly (RFC 9101 §4)", expected=issuer, saw=claims.get("aud"))
    # RFC 9101 §5: client_id inside must equal the one outside; Auth0 also requires response_type.
    if not isinstance(claims.get("client_id"), str):
        raise RequestObjectError("missing_client_id", "the request object must contain client_id")
    if claims["client_id"] != outer_client_id or claims["client_id"] != client.client_id:
        raise RequestObjectError("client_id_mismatch", "the request object client_id differs from the query's")
    if not isinstance(claims.get("response_type"), str):
        raise RequestObjectError("missing_response_type", "the request object must contain response_type")
    passed("client_id inside equals the one outside, and response_type is present (RFC 9101 §5)",
           saw=claims["client_id"])
    check_times(claims)
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or len(jti.encode("utf-8")) > MAX_JTI_BYTES):
        raise RequestObjectError("bad_jti", f"the request object jti must be a string of at most {MAX_JTI_BYTES} bytes")
    if jti is not None:
        passed(f"jti is a string of at most {MAX_JTI_BYTES} bytes (Auth0)", saw=jti)
    # RFC 9101 §4: the object must not contain request or request_uri.
    if "request" in claims or "request_uri" in claims:
        raise RequestObjectError("nested_request", "the request object must not contain request or request_uri")
    for name in AUTHORIZATION_PARAMETERS:
        if name in claims and not isinstance(claims[name], str):
            raise RequestObjectError("malformed_parameter", f"the request object parameter {name} must be a string")
    passed("no request or request_uri inside, and every parameter a string (RFC 9101 §4)")


def check_times(claims: dict) -> None:
    now, skew = time.time(), int(current_app.config["APPCREDS_CLOCK_SKEW"])
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if any(value is not None and not is_numeric_date(value) for value in (exp, nbf, iat)):
        raise RequestObjectError("malformed_claim", "exp, nbf and iat must be NumericDates")
    # FAPI 1.0 Advanced §5.2.2 (13, 17): exp and nbf are required, so a captured object cannot be
    # replayed forever; RFC 9101 leaves them optional.
    if exp is None:
        raise RequestObjectError("missing_exp", "the request object must contain exp")
    if nbf is None:
        raise RequestObjectError("missing_nbf", "the request object must contain nbf")
    # RFC 7519 §4.1.4: not accepted on or after exp; Auth0: exp at most 60 minutes ahead.
    if now >= exp:
        raise RequestObjectError("expired", "the request object has expired")
    if exp - now > MAX_TIME_DISTANCE:
        raise RequestObjectError("exp_too_far", "the request object exp is more than 60 minutes from now")
    # RFC 7519 §4.1.5: not accepted before nbf; Auth0: nbf at most 60 minutes ago.
    if nbf > now + skew:
        raise RequestObjectError("not_yet_valid", "the request object nbf is in the future")
    if now - nbf > MAX_TIME_DISTANCE:
        raise RequestObjectError("nbf_too_far", "the request object nbf is more than 60 minutes ago")
    if iat is not None and iat > now + skew:
        raise RequestObjectError("issued_in_future", "the request object iat is in the future")
    # FAPI 1.0 Advanced §5.2.2 (13): a lifetime of at most 60 minutes, counted from nbf (and iat).
    if exp - nbf > MAX_TIME_DISTANCE or (iat is not None and exp - iat > MAX_TIME_DISTANCE):
        raise RequestObjectError("lifetime_too_long",
                                 "the request object exp must be at most 60 minutes after nbf and iat")
    passed("exp and nbf present; not expired, not before nbf, and at most 60 minutes apart (FAPI 1.0 §5.2.2)",
           saw=f"nbf {nbf}, exp {exp} (in {exp - now:.0f} s)")


def authorization_parameters(claims: dict) -> dict:
    """RFC 9101 §6.3: the authorization request's parameters are the object's, and only those."""
    return {name: claims[name] for name in AUTHORIZATION_PARAMETERS if name in claims}
