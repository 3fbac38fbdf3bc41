"""The per-deployment secrets in the instance folder, created on first use with mode 0600.

`secret_key` (Flask's session key), `encryption.key` (Fernet, client secrets at rest) and
`signing-keys.json` (the token-signing keys, with a current key of the configured algorithm).
Only their paths are ever logged.
"""
import logging
import os
import secrets
from pathlib import Path

from models.encryption import SecretBox
from models.signing_keys import ensure_key_file

log = logging.getLogger("appcreds")


def ensure_instance_files(instance: Path, access_token_alg: str, access_token_lifetime: int) -> list[Path]:
    """Create each missing secret file (race-safe between workers); return the ones created."""
    created = []
    for name, make in (
        ("secret_key", lambda: secrets.token_hex(32).encode()),
        ("encryption.key", SecretBox.generate_key),
    ):
        path = instance / name
        if path.exists():
            continue
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        created.append(path)
    if ensure_key_file(instance / "signing-keys.json", access_token_alg, access_token_lifetime):
        created.append(instance / "signing-keys.json")
    for path in created:
        log.info("created %s (mode 0600)", path)
    return created


def read_session_key(instance: Path) -> str:
    return (instance / "secret_key").read_text().strip()


def read_encryption_key(instance: Path) -> bytes:
    return (instance / "encryption.key").read_bytes().strip()
