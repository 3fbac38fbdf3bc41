"""Fixtures: an app on a fresh, migrated SQLite database per test, its test client, a CLI
runner and a signed-in dashboard session.

Migrating and generating RSA keys take time, so one instance folder is prepared per test
session and copied for each test.
"""
import re
import shutil

import pytest
from flask_migrate import upgrade

from app import create_app
from models import AuthEvent, User, db
from models.state import app_state
from tests.inspection_order import assert_truthful

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


def _make_app(instance_path, **overrides):
    config = {
        "INSTANCE_PATH": str(instance_path),
        "TESTING": True,
        "APPCREDS_EVENT_FLUSH_SECONDS": 0,  # write each auth event at once, so tests can read it
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path}/appcreds.sqlite",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory):
    """An instance folder with keys and a migrated database that holds one administrator."""
    path = tmp_path_factory.mktemp("instance-template")
    app = _make_app(path)
    with app.app_context():
        upgrade()
        admin = User(email=ADMIN_EMAIL, is_admin=True)
        admin.set_password(ADMIN_PASSWORD)
        db.session.add(admin)
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def instance_path(template_instance, tmp_path):
    path = tmp_path / "instance"
    shutil.copytree(template_instance, path)
    return path


@pytest.fixture
def app_config():
    """Override in a test module to change settings: `@pytest.fixture def app_config(): return {...}`."""
    return {}


@pytest.fixture
def app(instance_path, app_config):
    app = _make_app(instance_path, **app_config)
    yield app
    with app.app_context():
        assert_every_inspection_truthful()
        db.engine.dispose()


def assert_every_inspection_truthful() -> None:
    """After each test: every inspection it recorded names its failing check last, and claims no check
    that was never made (tests/inspection_order.py). Every refusal test is thus an inspector test too."""
    app_state().events.flush()
    inspected = db.session.execute(db.select(AuthEvent).where(AuthEvent.inspectable)
                                   .options(db.undefer(AuthEvent.inspection))).scalars()
    for event in inspected:
        assert_truthful(event)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class DashboardActions:
    """Sign in and post dashboard forms the way a browser does, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def login(self, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        token = csrf_token_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def post(self, url, data=None, page=None, **kwargs):
        """POST a form found on `page` (default: `url`), with that page's CSRF token."""
        html = self.client.get(page or url).get_data(as_text=True)
        return self.client.post(url, data={**(data or {}), "csrf_token": csrf_token_from(html)}, **kwargs)


@pytest.fixture
def dashboard(client):
    actions = DashboardActions(client)
    response = actions.login()
    assert response.status_code == 302
    return actions
