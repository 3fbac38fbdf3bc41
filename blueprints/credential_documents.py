"""How every door shows a credential: Auth0's credential shape (plus `use`), public material only.

The dashboard, the command line (`--json`) and the Management API all answer with this one
document, so a credential reads the same whichever door shows it. It never holds a secret or a
private key; not even the registered PEM is echoed.
"""
from datetime import UTC, datetime

from models import Credential


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, as Auth0 writes dates."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def credential_document(credential: Credential) -> dict:
    return {
        "id": credential.id, "name": credential.name, "credential_type": credential.credential_type,
        # What the credential is for (models/auth_methods.py USES); null until a method references it.
        "use": credential.usage,
        "kid": credential.kid, "alg": credential.alg, "subject_dn": credential.subject_dn,
        "thumbprint_sha256": credential.thumbprint_sha256, "created_at": iso(credential.created_at),
        "updated_at": iso(credential.updated_at), "expires_at": iso(credential.expires_at),
    }
