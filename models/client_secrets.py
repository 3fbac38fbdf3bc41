"""An application's client secret: issue, reveal, check (RFC 6749 §2.3.1).

The secret is kept twice: Fernet ciphertext, so an administrator can reveal it, and a keyed
digest, so the token endpoint verifies it without decrypting anything, in constant time. The
keys are the process's (models/state.py); the Client model only holds the two columns.
"""
from models.client import Client, generate_client_secret
from models.state import app_state
from models.timeutil import utcnow


def issue_client_secret(client: Client) -> str:
    """Replace the secret. The old one stops working as soon as this commits (no grace period)."""
    box = app_state().secret_box
    secret = generate_client_secret()
    client.secret_ciphertext = box.encrypt(secret)
    client.secret_digest = box.digest(secret)
    client.secret_rotated_at = utcnow()
    return secret


def reveal_client_secret(client: Client) -> str | None:
    if client.secret_ciphertext is None:
        return None
    return app_state().secret_box.decrypt(client.secret_ciphertext)


def check_client_secret(client: Client, client_secret) -> bool:
    """Constant-time comparison of keyed digests; False (never TypeError) when there is no secret."""
    if client.secret_digest is None or not isinstance(client_secret, str):
        return False
    return app_state().secret_box.digest_matches(client_secret, client.secret_digest)
