"""Data model. `db` is created unbound here and bound to the app in `create_app`.

Importing this package imports every model module, so Alembic and the app see all tables.
"""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Stable constraint names keep migrations portable between SQLite and PostgreSQL.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))

# The model modules import `db` from here, so they come after it.
from models.auth_event import AuthEvent  # noqa: E402
from models.authorization import AuthorizationCode, Consent, PendingAuthorization, PushedRequest  # noqa: E402
from models.client import Client, ClientGrant  # noqa: E402
from models.credential import Credential, UsedAssertion  # noqa: E402
from models.tokens import RefreshToken, RevokedToken  # noqa: E402
from models.user import User  # noqa: E402

__all__ = ["db", "User", "Client", "ClientGrant", "Credential", "UsedAssertion", "AuthEvent", "RefreshToken",
           "RevokedToken", "AuthorizationCode", "Consent", "PendingAuthorization", "PushedRequest"]
