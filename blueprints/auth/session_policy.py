"""Dashboard sessions: begun afresh at sign-in, ended on the server at sign-out, bounded in time.

Flask's session is a signed cookie, so deleting it in one browser does not stop a copy of it
from working. The session therefore names the user's session generation (models/user.py);
signing out bumps the generation, and `load_dashboard_user` refuses a session of an older one.
It also refuses a session idle for longer than APPCREDS_SESSION_IDLE_SECONDS or older than
APPCREDS_SESSION_MAX_SECONDS. The timestamps sit in the signed cookie, so nobody can change them.
"""
import time

from flask import current_app, session
from flask_login import current_user, login_user, logout_user

from models import User, db

DASHBOARD_KEY = "appcreds_dashboard"
SEEN_RESOLUTION = 60  # seconds: refresh "seen_at" at most once a minute, not a new cookie per request


def start_dashboard_session(user: User) -> None:
    """Sign `user` in with a new session: nothing from before sign-in (CSRF token, flashes) survives."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session[DASHBOARD_KEY] = {"generation": user.session_generation, "signed_in_at": now, "seen_at": now}


def end_dashboard_session() -> None:
    """Sign out here and end this administrator's sessions everywhere (copies of the cookie included)."""
    if current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.pop(DASHBOARD_KEY, None)


def load_dashboard_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user, while their session is of the current generation and in time."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    data = session.get(DASHBOARD_KEY)
    if user is None or not isinstance(data, dict) or data.get("generation") != user.session_generation:
        return None
    now = int(time.time())
    config = current_app.config
    if now - data.get("signed_in_at", 0) > int(config["APPCREDS_SESSION_MAX_SECONDS"]) \
            or now - data.get("seen_at", 0) > int(config["APPCREDS_SESSION_IDLE_SECONDS"]):
        session.clear()
        return None
    if now - data.get("seen_at", 0) >= SEEN_RESOLUTION:
        session[DASHBOARD_KEY] = {**data, "seen_at": now}
    return user
