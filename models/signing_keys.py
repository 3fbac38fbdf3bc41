"""The server's token-signing keys (RS256), kept in `instance/signing-keys.json`, mode 0600.

Three states, as Auth0 publishes them:
- `current` signs every access token;
- `next` is already published in the JWKS, so verifiers have it cached before it signs;
- `previous` still verifies tokens signed before the last rotation, until they expire.

`flask --app app keys rotate` moves next -> current -> previous and makes a new next.
Each worker parses the file once and re-reads it only when its modification time changes
(one `stat` per token), so a rotation reaches every worker at its next request.
"""
import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

from models.timeutil import utcnow

SIGNING_ALG = "RS256"


def _new_key_entry(status: str) -> dict:
    key = RSAKey.generate_key(2048, private=True)
    return {
        "kid": key.thumbprint(),  # RFC 7638, so the kid is derived from the key itself
        "status": status,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "pem": key.as_pem(private=True).decode(),
    }


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


def ensure_key_file(path: Path) -> bool:
    """Create the key file with a current and a next key unless it exists. True if created."""
    with _FileLock(path):
        if path.exists():
            return False
        _write_private_json(path, {"keys": [_new_key_entry("current"), _new_key_entry("next")]})
        return True


def rotate_key_file(path: Path) -> dict:
    """next -> current, current -> previous, old previous dropped, a new next. Returns the new current."""
    with _FileLock(path):
        keys = json.loads(path.read_text())["keys"]
        by_status = {entry["status"]: entry for entry in keys}
        rotated = []
        if "current" in by_status:
            rotated.append({**by_status["current"], "status": "previous"})
        new_current = {**by_status["next"], "status": "current"} if "next" in by_status else _new_key_entry("current")
        rotated += [new_current, _new_key_entry("next")]
        _write_private_json(path, {"keys": rotated})
        return new_current


@dataclass(frozen=True)
class _LoadedKeys:
    mtime_ns: int
    current_kid: str
    current_key: RSAKey
    jwks: dict
    public_keys: KeySet


class SigningKeys:
    """Read-through cache of the key file for one process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._loaded: _LoadedKeys | None = None

    def _load(self) -> _LoadedKeys:
        mtime_ns = os.stat(self.path).st_mtime_ns
        loaded = self._loaded
        if loaded is not None and loaded.mtime_ns == mtime_ns:
            return loaded
        entries = json.loads(self.path.read_text())["keys"]
        public_keys, current = [], None
        for entry in entries:
            key = RSAKey.import_key(entry["pem"], {"kid": entry["kid"], "use": "sig", "alg": SIGNING_ALG})
            public_keys.append(key)
            if entry["status"] == "current":
                current = (entry["kid"], key)
        if current is None:
            raise RuntimeError(f"{self.path} has no current signing key; run `flask --app app keys rotate`")
        jwks = KeySet(public_keys).as_dict(private=False)
        self._loaded = _LoadedKeys(mtime_ns, current[0], current[1], jwks, KeySet.import_key_set(jwks))
        return self._loaded

    def current(self) -> tuple[str, RSAKey]:
        loaded = self._load()
        return loaded.current_kid, loaded.current_key

    def public_jwks(self) -> dict:
        return self._load().jwks

    def summaries(self) -> list[dict]:
        """Each key's kid, algorithm, status and creation time, current first; never the key itself."""
        order = {"current": 0, "next": 1, "previous": 2}
        entries = json.loads(self.path.read_text())["keys"]
        summaries = [{"kid": entry["kid"], "alg": SIGNING_ALG, "status": entry["status"],
                      "created_at": datetime.fromisoformat(entry["created_at"]) if entry.get("created_at") else None}
                     for entry in entries]
        return sorted(summaries, key=lambda summary: order.get(summary["status"], len(order)))

    def public_key_set(self) -> KeySet:
        """The published keys, parsed: what a resource server verifies access tokens with."""
        return self._load().public_keys
