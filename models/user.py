"""People who sign in: dashboard administrators, and (later) end users at /authorize."""
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from models import db
from models.timeutil import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    # Werkzeug's default is scrypt: a deliberately slow, memory-hard KDF.
    password_hash = db.Column(db.String(255), nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()
