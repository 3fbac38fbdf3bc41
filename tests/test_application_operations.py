"""models/applications.py: the operations the dashboard, the CLI and the Management API share."""
import pytest

from models import db
from models.applications import find_application, set_auth_method, update_application
from models.credential_registry import add_public_key_credential
from models.errors import ApplicationError
from tests.factories import TOKEN_URL, make_app, make_rsa_key, public_pem


def test_a_machine_to_machine_application_cannot_become_public(app):
    client_id, _ = make_app(app, method="none", app_type="spa")
    with app.app_context():
        client = find_application(client_id)
        with pytest.raises(ApplicationError, match="must authenticate"):
            update_application(client, app_type="non_interactive")


def test_leaving_the_secret_methods_drops_the_secret(app):
    """Switching back later makes a new secret; the old one never comes back to life."""
    client_id, old_secret = make_app(app)
    with app.app_context():
        client = find_application(client_id)
        add_public_key_credential(client, "private_key_jwt", public_pem(make_rsa_key()))
        set_auth_method(client, "private_key_jwt")
        db.session.commit()
        assert not client.has_secret
        new_secret = set_auth_method(client, "client_secret_post")
        db.session.commit()
    assert new_secret and new_secret != old_secret
    response = app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": client_id,
                                                       "client_secret": old_secret})
    assert response.status_code == 401
