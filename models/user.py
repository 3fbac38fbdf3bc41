"""People who sign in: dashboard administrators, and end users at /authorize."""
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from models.database import db
from models.timeutil import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    # Werkzeug's default is scrypt: a deliberately slow, memory-hard KDF.
    password_hash = db.Column(db.String(255), nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # Each session cookie names the generation it began in; bumping it ends every session at once.
    session_generation = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    def end_sessions(self) -> None:
        """End every session this user has, in every browser (the caller commits)."""
        self.session_generation = (self.session_generation or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()


_DUMMY_USER: User | None = None


def find_user_by_credentials(email: str, password: str) -> User | None:
    """The user with this email and password, or None.

    An unknown email still pays for one password hash, so a wrong email and a wrong password
    take the same time and nobody can probe which accounts exist.
    """
    global _DUMMY_USER
    user = db.session.execute(db.select(User).where(User.email == User.normalize_email(email))).scalar_one_or_none()
    if user is None:
        if _DUMMY_USER is None:
            _DUMMY_USER = User(password_hash="")
            _DUMMY_USER.set_password("not a password")
        _DUMMY_USER.check_password(password)
        return None
    return user if user.check_password(password) else None
