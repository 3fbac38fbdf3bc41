"""Compact JWS primitives shared by client assertions (RFC 7523) and request objects (RFC 9101).

Only reading and verifying live here; each caller checks its own header and claim rules, top
to bottom, in its own file (client_auth/private_key_jwt.py, request_objects.py).
"""
import base64
import binascii
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

# The algorithms a key can be registered with (models/auth_methods.py KEY_ALGORITHMS) and their hashes.
HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "PS256": hashes.SHA256}
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")  # RFC 7515 §2: base64url without padding


def base64url_decode(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _reject_duplicate_names(pairs):
    document = dict(pairs)
    if len(document) != len(pairs):  # a name came twice: the dict kept one of them
        raise ValueError("duplicate member name")  # RFC 7515 §5.2: reject rather than guess
    return document


def json_object(segment: str) -> dict | None:
    """A base64url JSON object (a JWS header or JWT claims set), or None when it is anything else."""
    raw = base64url_decode(segment)
    try:
        document = json.loads(raw, object_pairs_hook=_reject_duplicate_names) if raw is not None else None
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def is_numeric_date(value) -> bool:
    """RFC 7519 §2 NumericDate, within JSON's safe integer range (so arithmetic on it stays exact)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def verify_rsa_signature(public_key, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """RFC 7518 §3.3 (RSASSA-PKCS1-v1_5) and §3.5 (RSASSA-PSS, salt as long as the hash)."""
    algorithm = HASHES[alg]()
    scheme = (padding.PKCS1v15() if alg.startswith("RS")
              else padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size))
    try:
        public_key.verify(signature, signing_input, scheme, algorithm)
    except InvalidSignature:
        return False
    return True
