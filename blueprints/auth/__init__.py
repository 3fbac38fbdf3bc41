"""Dashboard sign-in and sign-out (Flask-Login sessions, Flask-WTF forms with CSRF)."""
from flask import Blueprint

from blueprints.extensions import login_manager
from models import User, db

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    """Flask-Login: the signed-in user of this session, or None once deleted."""
    return db.session.get(User, int(user_id))


from blueprints.auth import views  # noqa: E402,F401
