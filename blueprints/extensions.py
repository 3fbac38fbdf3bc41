"""Extensions, created unbound and bound to the app in `init_extensions` (Flask's factory pattern).

Also creates the per-deployment secrets in the instance folder on first use (mode 0600):
`secret_key`, `encryption.key` and `signing-keys.json`. Only their paths are ever logged.
"""
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import User, db
from models.auth_event import EventRecorder
from models.client_snapshots import ClientSnapshots
from models.encryption import SecretBox
from models.signing_keys import SigningKeys, ensure_key_file

log = logging.getLogger("appcreds")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

csrf = CSRFProtect()
migrate = Migrate()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"


# Machine endpoints: OAuth clients authenticate with credentials, never with a browser cookie.
PROTOCOL_PATH_PREFIXES = ("/oauth/", "/.well-known/", "/api/")


class BrowserOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, not opened at all on the protocol endpoints (less work per token)."""

    def open_session(self, app, request):
        if request.path.startswith(PROTOCOL_PATH_PREFIXES):
            return self.null_session_class()
        return super().open_session(app, request)


@dataclass
class AppCredsState:
    """What the app needs at hand on every request: keys, parsed once per process."""

    secret_box: SecretBox
    signing_keys: SigningKeys
    events: EventRecorder
    client_snapshots: ClientSnapshots


def init_extensions(app: Flask) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_instance_files(instance)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = (instance / "secret_key").read_text().strip()
    encryption_key = app.config.get("APPCREDS_ENCRYPTION_KEY") or (instance / "encryption.key").read_bytes().strip()

    app.session_interface = BrowserOnlySessionInterface()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    login_manager.init_app(app)
    app.extensions["appcreds"] = AppCredsState(
        secret_box=SecretBox(encryption_key),
        signing_keys=SigningKeys(instance / "signing-keys.json"),
        events=EventRecorder(app, float(app.config["APPCREDS_EVENT_FLUSH_SECONDS"])),
        client_snapshots=ClientSnapshots(),
    )


def ensure_instance_files(instance: Path) -> list[Path]:
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
    if ensure_key_file(instance / "signing-keys.json"):
        created.append(instance / "signing-keys.json")
    for path in created:
        log.info("created %s (mode 0600)", path)
    return created


@login_manager.user_loader
def load_user(user_id: str):
    return db.session.get(User, int(user_id))


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record):
    """WAL lets readers run beside the writer; synchronous=NORMAL skips the fsync per commit
    (a committed transaction survives a crash of the process, not of the machine)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
