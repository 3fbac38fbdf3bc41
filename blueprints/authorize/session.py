"""The end user's sign-in, kept in the Flask session under its own key (not Flask-Login's),
so an end-user session never opens the dashboard and a dashboard session never grants consent.

Also the browser's pending authorization transactions: only their random references, the
requests themselves are on the server (models.PendingAuthorization).
"""
import time

from flask import g, session

from models import User, db

END_USER_KEY = "appcreds_end_user"
TRANSACTIONS_KEY = "appcreds_authorizations"
MAX_TRANSACTIONS = 5  # open sign-in flows per browser; the oldest is forgotten first


def current_end_user() -> User | None:
    """The signed-in end user, or None (also when the account was deleted or made an administrator)."""
    if "appcreds_end_user" not in g:
        data = session.get(END_USER_KEY) or {}
        user = db.session.get(User, data["id"]) if isinstance(data.get("id"), int) else None
        # A session of an older generation was signed out (in this browser or another).
        current = user is not None and data.get("generation") == user.session_generation
        g.appcreds_end_user = user if current and not user.is_admin else None
    return g.appcreds_end_user


def end_user_auth_time() -> int | None:
    return (session.get(END_USER_KEY) or {}).get("auth_time")


def sign_in_end_user(user: User) -> None:
    """A new session (nothing from before sign-in survives but the pending transactions)."""
    transactions = session.get(TRANSACTIONS_KEY, [])
    session.clear()
    session[TRANSACTIONS_KEY] = transactions
    session[END_USER_KEY] = {"id": user.id, "auth_time": int(time.time()), "generation": user.session_generation}
    g.appcreds_end_user = user


def sign_out_end_user() -> None:
    """Sign out here and end this person's sessions everywhere (copies of the cookie included)."""
    user = current_end_user()
    if user is not None:
        user.end_sessions()
        db.session.commit()
    session.pop(END_USER_KEY, None)
    session.pop(TRANSACTIONS_KEY, None)
    g.appcreds_end_user = None


def remember_transaction(reference: str) -> None:
    references = [r for r in session.get(TRANSACTIONS_KEY, []) if r != reference]
    session[TRANSACTIONS_KEY] = (references + [reference])[-MAX_TRANSACTIONS:]


def is_own_transaction(reference: str) -> bool:
    """Was this transaction started in this browser? (A leaked link is no use elsewhere.)"""
    return isinstance(reference, str) and reference in session.get(TRANSACTIONS_KEY, [])


def forget_transaction(reference: str) -> None:
    session[TRANSACTIONS_KEY] = [r for r in session.get(TRANSACTIONS_KEY, []) if r != reference]
