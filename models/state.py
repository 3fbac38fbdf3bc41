"""The per-process state every request needs at hand, parsed once per worker, and its one accessor.

    from models.state import app_state
    app_state().signing_keys.current()

`init_state` (called by create_app) builds it; nothing else stores it or reaches for it by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:  # the models import this module, so its own imports of them wait until init_state
    from models.auth_event import EventRecorder
    from models.client_snapshots import ClientSnapshots
    from models.encryption import SecretBox
    from models.signing_keys import SigningKeys

_EXTENSION_KEY = "appcreds"


@dataclass
class AppCredsState:
    """Keys, the event buffer and the application snapshots of one app in one process."""

    secret_box: SecretBox            # client secrets at rest (models/encryption.py)
    signing_keys: SigningKeys        # the server's token-signing keys (models/signing_keys.py)
    events: EventRecorder            # the batched event log (models/auth_event.py)
    client_snapshots: ClientSnapshots  # per-worker application snapshots (models/client_snapshots.py)


def init_state(app: Flask, encryption_key: bytes) -> AppCredsState:
    """Build the app's state from its instance folder and configuration."""
    from models.auth_event import EventRecorder
    from models.client_snapshots import ClientSnapshots
    from models.encryption import SecretBox
    from models.signing_keys import SigningKeys

    state = AppCredsState(
        secret_box=SecretBox(encryption_key),
        signing_keys=SigningKeys(Path(app.instance_path) / "signing-keys.json"),
        events=EventRecorder(app, float(app.config["APPCREDS_EVENT_FLUSH_SECONDS"])),
        client_snapshots=ClientSnapshots(int(app.config["APPCREDS_CLIENT_SNAPSHOT_CAPACITY"])),
    )
    app.extensions[_EXTENSION_KEY] = state
    return state


def app_state(app: Flask | None = None) -> AppCredsState:
    """The state of `app`, or of the current app."""
    return (app or current_app).extensions[_EXTENSION_KEY]
