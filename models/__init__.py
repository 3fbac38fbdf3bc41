"""The domain layer: the data model and every rule about it (docs/architecture.md).

`db` (models/database.py) is created unbound and bound to the app in `create_app`. Importing this
package imports every model module, so Alembic and the app see all tables.
"""
from models.auth_event import AuthEvent
from models.authorization import AuthorizationCode, Consent, PendingAuthorization, PushedRequest
from models.client import Client, ClientGrant
from models.credential import Credential, UsedAssertion
from models.database import db
from models.tokens import RefreshToken, RevokedToken
from models.user import User

__all__ = ["db", "User", "Client", "ClientGrant", "Credential", "UsedAssertion", "AuthEvent", "RefreshToken",
           "RevokedToken", "AuthorizationCode", "Consent", "PendingAuthorization", "PushedRequest"]
