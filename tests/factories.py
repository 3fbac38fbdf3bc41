"""Plain functions that make test data through the same operations the dashboard uses."""
from models import AuthEvent, db
from models.applications import create_application, grant_api

ISSUER = "http://127.0.0.1:5000/"
DEMO_API = ISSUER + "api/demo/"
TOKEN_URL = "/oauth/token"


def make_app(app, method="client_secret_basic", app_type="non_interactive", grant=DEMO_API,
             scopes=("read:demo",), name="Test app", **kwargs):
    """Create an application granted `grant` with `scopes`; returns (client_id, secret)."""
    with app.app_context():
        client, secret = create_application(name, app_type, method, **kwargs)
        if grant:
            grant_api(client, grant, list(scopes))
        db.session.commit()
        return client.client_id, secret


def events(app, client_id=None):
    """Auth events, newest first (optionally only those naming `client_id`)."""
    with app.app_context():
        query = db.select(AuthEvent).order_by(AuthEvent.id.desc())
        if client_id is not None:
            query = query.where(AuthEvent.client_id_sent == client_id)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return rows


def last_event(app, client_id=None):
    rows = events(app, client_id)
    assert rows, "no auth event was recorded"
    return rows[0]
