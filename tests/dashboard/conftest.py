"""Helpers for dashboard tests: dashboard URLs, and token requests to check what a change did."""
import base64
import re
from urllib.parse import quote_plus

import pytest

from models import db
from models.applications import find_application
from tests.factories import DEMO_API, TOKEN_URL, make_app


def url(client_id, tab=""):
    """The dashboard URL of an application's page or tab (`tab` like "credentials/reveal")."""
    return f"/applications/{client_id}" + (f"/{tab}" if tab else "")


def basic(client_id, secret):
    """RFC 6749 §2.3.1: each part form-urlencoded, then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token_with_basic(client, client_id, secret):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                       headers=basic(client_id, secret))


def token_with_post(client, client_id, secret):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                        "client_id": client_id, "client_secret": secret})


def shown_secret(html: str) -> str:
    """The secret a Reveal or Rotate response shows."""
    match = re.search(r'<code id="client-secret" class="value">([^<]+)</code>', html)
    assert match, "the page shows no secret"
    return match.group(1)


def load(app, client_id):
    """The application as stored now (detached, attributes loaded), or None."""
    with app.app_context():
        client = find_application(client_id)
        if client is not None:
            _ = (client.grants, client.credentials)  # load them before detaching
            db.session.expunge(client)
        return client


@pytest.fixture
def confidential_app(app):
    """A machine-to-machine application with client_secret_basic, granted the demo API: (client_id, secret)."""
    return make_app(app, method="client_secret_basic", name="Billing backend")
