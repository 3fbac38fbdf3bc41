"""Flask extensions, created unbound and bound to the app in `init_extensions` (Flask's factory pattern).

`init_extensions` also creates the instance secrets (models/instance_files.py), tunes SQLite
(models/sqlite_tuning.py) and builds the per-process state (models/state.py).
"""
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models import db
from models.instance_files import ensure_instance_files, read_encryption_key, read_session_key
from models.sqlite_tuning import tune_sqlite_engine
from models.state import init_state

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

csrf = CSRFProtect()
migrate = Migrate()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"


# Machine endpoints: OAuth clients authenticate with credentials, never with a browser cookie,
# and every error on them is JSON (blueprints/__init__.py).
PROTOCOL_PATH_PREFIXES = ("/oauth/", "/.well-known/", "/api/")


# End users' pages (blueprints/authorize/): their session has a cookie of its own, so an
# administrator's and an end user's sessions never share one cookie.
END_USER_PATH_PREFIXES = ("/authorize", "/account")
END_USER_COOKIE_SUFFIX = "_end_user"


class BrowserOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, not opened at all on the protocol endpoints (less work per token);
    one cookie for the dashboard, another for the end users' pages."""

    def open_session(self, app, request):
        if request.path.startswith(PROTOCOL_PATH_PREFIXES):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_cookie_name(self, app):
        # Flask calls this while opening and saving a session, inside the request it belongs to.
        name = super().get_cookie_name(app)
        return name + END_USER_COOKIE_SUFFIX if request.path.startswith(END_USER_PATH_PREFIXES) else name


def init_extensions(app: Flask) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_instance_files(instance, app.config["APPCREDS_ACCESS_TOKEN_ALG"],
                          int(app.config["APPCREDS_ACCESS_TOKEN_LIFETIME"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_session_key(instance)
    encryption_key = app.config.get("APPCREDS_ENCRYPTION_KEY") or read_encryption_key(instance)

    app.session_interface = BrowserOnlySessionInterface()
    db.init_app(app)
    with app.app_context():
        tune_sqlite_engine(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    login_manager.init_app(app)
    init_state(app, encryption_key)
