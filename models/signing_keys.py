"""The server's token-signing keys, kept in `instance/signing-keys.json`, mode 0600.

One algorithm signs access tokens at a time: APPCREDS_ACCESS_TOKEN_ALG, one of ALGORITHMS below.
Each key entry carries its own `alg` (an entry without one is RS256, the only algorithm before the
setting existed). Three states, as Auth0 publishes them:
- `current` signs every access token;
- `next` is already published in the JWKS, so verifiers have it cached before it signs;
- `previous` stopped signing at `stopped_signing_at` and stays published until `published_until`,
  when the last token it signed has expired (exp = iat + APPCREDS_ACCESS_TOKEN_LIFETIME).

`flask --app app keys rotate` moves next -> current -> previous and makes a new next of the
configured algorithm. Starting the app with another algorithm than the current key's does the same
rotation, except that the old algorithm's next key (which never signed) is dropped: the old current
key verifies what it signed until that expires, and a new current key signs from then on.
Each worker parses the file once and re-reads it only when the file changes or a previous key's
time is up (one `stat` per token), so a rotation reaches every worker at its next request.
"""
import base64
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

from models.timeutil import utcnow

log = logging.getLogger("appcreds")

DEFAULT_ALG = "RS256"  # Auth0's default, and what a key entry without `alg` was signed with

# RFC 9068 §2.1: these keys sign access tokens only, typed at+jwt so that no other JWT passes for one.
ACCESS_TOKEN_TYP = "at+jwt"


def _sign_rs256(private_key, signing_input: bytes) -> bytes:
    # RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256.
    return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def _sign_ps256(private_key, signing_input: bytes) -> bytes:
    # RFC 7518 §3.5: RSASSA-PSS with SHA-256, MGF1 with SHA-256, and a salt as long as the hash (32 bytes).
    return private_key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                            hashes.SHA256())


def _sign_es256(private_key, signing_input: bytes) -> bytes:
    # RFC 7518 §3.4: the JWS signature is R || S, 32 bytes each, not the DER that cryptography returns.
    r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _sign_eddsa(private_key, signing_input: bytes) -> bytes:
    # RFC 8037 §3.1: Ed25519 signs the signing input itself (no separate hash).
    return private_key.sign(signing_input)


@dataclass(frozen=True)
class SigningAlgorithm:
    """A JWS algorithm for access tokens: how to make its key, sign with it and publish it."""

    name: str
    private_key_type: type
    generate: Callable[[], object]
    sign: Callable[[object, bytes], bytes]
    jwk_type: type  # joserfc's class for the published JWK (RFC 7517)


ALGORITHMS = {algorithm.name: algorithm for algorithm in (
    # A PS256 key is an RSA key like an RS256 one; only the `alg` it is published with differs.
    SigningAlgorithm("RS256", rsa.RSAPrivateKey, lambda: rsa.generate_private_key(65537, 2048), _sign_rs256, RSAKey),
    SigningAlgorithm("PS256", rsa.RSAPrivateKey, lambda: rsa.generate_private_key(65537, 2048), _sign_ps256, RSAKey),
    SigningAlgorithm("ES256", ec.EllipticCurvePrivateKey, lambda: ec.generate_private_key(ec.SECP256R1()),
                     _sign_es256, ECKey),
    # RFC 8037: EdDSA with an Ed25519 (OKP) key; RFC 9864 calls it "Ed25519" now, a name few verifiers know yet.
    SigningAlgorithm("EdDSA", ed25519.Ed25519PrivateKey, ed25519.Ed25519PrivateKey.generate, _sign_eddsa, OKPKey),
)}


def check_access_token_alg(alg) -> None:
    """Raise ValueError unless `alg` is an algorithm access tokens can be signed with."""
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise ValueError(f"APPCREDS_ACCESS_TOKEN_ALG must be one of {', '.join(ALGORITHMS)}, not {alg!r}")


def _base64url(data: bytes) -> bytes:
    """RFC 7515 §2: base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _new_key_entry(status: str, alg: str) -> dict:
    private_key = ALGORITHMS[alg].generate()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return {
        "kid": ALGORITHMS[alg].jwk_type.import_key(pem).thumbprint(),  # RFC 7638: the kid is derived from the key
        "alg": alg,
        "status": status,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "pem": pem,
    }


def _read_entries(path: Path) -> list[dict]:
    """The file's key entries, each with its `alg` (RS256 where the file predates the setting)."""
    return [{"alg": DEFAULT_ALG, **entry} for entry in json.loads(path.read_text())["keys"]]


def _now() -> datetime:
    """Now, in whole seconds (as a token's iat), from time.time() as every expiry check here and in verifiers."""
    return datetime.fromtimestamp(int(time.time()), UTC)


def _is_published(entry: dict, now: datetime) -> bool:
    """A previous key is published until the tokens it signed have expired; current and next always."""
    published_until = entry.get("published_until")
    return published_until is None or datetime.fromisoformat(published_until) > now


def _rotated(entries: list[dict], alg: str, lifetime: int) -> tuple[list[dict], dict]:
    """next -> current (if it is of `alg`), current -> previous, a new next; previous keys kept while published."""
    now = _now()
    by_status = {entry["status"]: entry for entry in entries if entry["status"] != "previous"}
    # A previous key without `published_until` (a file from before it was recorded) goes, as it always did.
    kept = [entry for entry in entries
            if entry["status"] == "previous" and "published_until" in entry and _is_published(entry, now)]
    if "current" in by_status:
        # Tokens it signed until now expire `lifetime` seconds from now at the latest (RFC 9068 §2.2 exp).
        kept.append({**by_status["current"], "status": "previous", "stopped_signing_at": now.isoformat(),
                     "published_until": (now + timedelta(seconds=lifetime)).isoformat()})
    next_key = by_status.get("next")
    # A next key of another algorithm has signed nothing, so it is dropped rather than kept.
    new_current = ({**next_key, "status": "current"} if next_key and next_key["alg"] == alg
                   else _new_key_entry("current", alg))
    return kept + [new_current, _new_key_entry("next", alg)], new_current


def _write_private_json(path: Path, document: dict) -> None:
    """Write atomically (temp file + rename) with mode 0600 from the first byte."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class _FileLock:
    def __init__(self, path: Path):
        self.path = path.with_name(path.name + ".lock")

    def __enter__(self):
        self.handle = open(self.path, "a")  # noqa: SIM115
        os.chmod(self.path, 0o600)
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def ensure_key_file(path: Path, alg: str, lifetime: int) -> bool:
    """Make sure a current key of `alg` signs: create the file, or rotate away from another algorithm.

    Every process that starts the app calls this (gunicorn workers, `flask setup`, any CLI command);
    the lock and the re-read inside it make the first one do the work and the others find it done.
    True if the file was created.
    """
    check_access_token_alg(alg)
    with _FileLock(path):
        if not path.exists():
            _write_private_json(path, {"keys": [_new_key_entry("current", alg), _new_key_entry("next", alg)]})
            return True
        entries = _read_entries(path)
        current = next((entry for entry in entries if entry["status"] == "current"), None)
        if current is not None and current["alg"] == alg:
            return False
        rotated, new_current = _rotated(entries, alg, lifetime)
        _write_private_json(path, {"keys": rotated})
    log.info("%s: access tokens are now signed with %s (kid %s); keys of another algorithm stay published "
             "until the tokens they signed have expired", path, alg, new_current["kid"])
    return False


def rotate_key_file(path: Path, alg: str, lifetime: int) -> dict:
    """next -> current, current -> previous, a new next, all of `alg`. Returns the new current."""
    check_access_token_alg(alg)
    with _FileLock(path):
        rotated, new_current = _rotated(_read_entries(path), alg, lifetime)
        _write_private_json(path, {"keys": rotated})
        return new_current


@dataclass(frozen=True)
class SigningKey:
    """The current key, ready to sign: its protected header is serialised once, when the file is read."""

    kid: str
    alg: str
    private_key: object
    encoded_header: bytes  # the base64url protected header, the same for every token this key signs

    def sign_jwt(self, claims: dict) -> str:
        """RFC 7515 §7.1 compact serialisation: header.payload.signature, each part base64url."""
        payload = _base64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = self.encoded_header + b"." + payload  # RFC 7515 §5.1 step 6
        signature = ALGORITHMS[self.alg].sign(self.private_key, signing_input)
        return (signing_input + b"." + _base64url(signature)).decode("ascii")


@dataclass(frozen=True)
class _LoadedKeys:
    file_version: tuple        # (inode, mtime, size): a rename or a rewrite changes it
    reload_at: float           # when the next previous key stops being published (inf: none)
    current: SigningKey
    jwks: dict
    public_keys: dict          # kid -> joserfc public key, carrying its alg


def _load_current(entry: dict) -> SigningKey:
    private_key = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
    if not isinstance(private_key, ALGORITHMS[entry["alg"]].private_key_type):
        raise RuntimeError(f"signing key {entry['kid']} is not a key for {entry['alg']}")
    header = {"alg": entry["alg"], "typ": ACCESS_TOKEN_TYP, "kid": entry["kid"]}  # RFC 7515 §4.1, RFC 9068 §2.1
    encoded_header = _base64url(json.dumps(header, separators=(",", ":")).encode())
    return SigningKey(entry["kid"], entry["alg"], private_key, encoded_header)


class SigningKeys:
    """Read-through cache of the key file for one process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._loaded: _LoadedKeys | None = None

    def _load(self) -> _LoadedKeys:
        stat = os.stat(self.path)
        file_version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        loaded = self._loaded
        if loaded is not None and loaded.file_version == file_version and time.time() < loaded.reload_at:
            return loaded
        now = _now()
        entries = [entry for entry in _read_entries(self.path) if _is_published(entry, now)]
        current = next((entry for entry in entries if entry["status"] == "current"), None)
        if current is None:
            raise RuntimeError(f"{self.path} has no current signing key; run `flask --app app keys rotate`")
        public_keys = {}
        for entry in entries:
            algorithm = ALGORITHMS[entry["alg"]]
            private = algorithm.jwk_type.import_key(entry["pem"], {"kid": entry["kid"], "use": "sig",
                                                                     "alg": entry["alg"]})
            # RFC 7517 §4.4: each key is published with the one algorithm it signs with.
            public_keys[entry["kid"]] = algorithm.jwk_type.import_key(private.as_dict(private=False))
        ends = [datetime.fromisoformat(entry["published_until"]).timestamp()
                for entry in entries if "published_until" in entry]
        self._loaded = _LoadedKeys(file_version, min(ends, default=float("inf")), _load_current(current),
                                   {"keys": [key.as_dict(private=False) for key in public_keys.values()]},
                                   public_keys)
        return self._loaded

    def current(self) -> SigningKey:
        """The key that signs access tokens now."""
        return self._load().current

    def public_jwks(self) -> dict:
        """RFC 7517 §5: the published keys (current, next, and previous ones still needed), public halves only."""
        return self._load().jwks

    def published_algorithms(self) -> list[str]:
        """The algorithms of the published keys, the current key's first."""
        loaded = self._load()
        others = [key.alg for key in loaded.public_keys.values() if key.alg != loaded.current.alg]
        return list(dict.fromkeys([loaded.current.alg, *others]))

    def verification_key(self, kid, alg):
        """The published key `kid` if it is a key for `alg`, else None.

        RFC 8725 §3.1: the algorithm a token names must be the one its key is published with, so an RSA
        key published for RS256 never verifies a PS256 signature (or the reverse).
        """
        key = self._load().public_keys.get(kid) if isinstance(kid, str) else None
        if key is None or key.alg != alg:
            return None
        return key

    def summaries(self) -> list[dict]:
        """Each published key's kid, algorithm, status and times, current first; never the key itself."""
        order = {"current": 0, "next": 1, "previous": 2}
        now = _now()

        def when(entry, name):
            return datetime.fromisoformat(entry[name]) if entry.get(name) else None

        summaries = [{"kid": entry["kid"], "alg": entry["alg"], "status": entry["status"],
                      "created_at": when(entry, "created_at"), "published_until": when(entry, "published_until")}
                     for entry in _read_entries(self.path) if _is_published(entry, now)]
        return sorted(summaries, key=lambda summary: order.get(summary["status"], len(order)))
