"""The batched event log (models/auth_event.py): nothing recorded is lost or mangled."""
from models import AuthEvent, db
from models.applications import find_application
from models.state import app_state
from tests.conftest import _make_app
from tests.factories import make_app


def test_a_batch_mixing_dashboard_and_protocol_events_keeps_every_column(instance_path):
    app = _make_app(instance_path, APPCREDS_EVENT_FLUSH_SECONDS=60)  # buffered: nothing written yet
    client_id, _ = make_app(app)
    recorder = app_state(app).events
    with app.app_context():
        client = find_application(client_id)
        recorder.record(client_id_sent=client_id, client_pk=client.id, endpoint="token", method="client_secret_basic",
                        outcome="failure", reason_code="wrong_secret", reason="the secret does not match")
        recorder.record(event_type="secret_revealed", client_id_sent=client_id, client_pk=client.id,
                        endpoint="dashboard", outcome="success", reason_code="secret_revealed", actor="a@example.com")
        assert recorder.flush() == 2
        rows = db.session.execute(db.select(AuthEvent).order_by(AuthEvent.id)).scalars().all()
    assert [(r.event_type, r.actor, r.method) for r in rows] == [
        ("client_authentication", None, "client_secret_basic"), ("secret_revealed", "a@example.com", None)]
    with app.app_context():
        db.engine.dispose()


def test_an_event_buffered_before_its_application_was_deleted_is_kept(instance_path):
    app = _make_app(instance_path, APPCREDS_EVENT_FLUSH_SECONDS=60)
    client_id, _ = make_app(app)
    recorder = app_state(app).events
    with app.app_context():
        client = find_application(client_id)
        recorder.record(client_id_sent=client_id, client_pk=client.id, endpoint="token", outcome="success",
                        reason_code="authenticated")
        db.session.delete(client)
        db.session.commit()
        assert recorder.flush() == 1
        row = db.session.execute(db.select(AuthEvent)).scalar_one()
        assert (row.client_id_sent, row.client_pk) == (client_id, None)
        db.engine.dispose()
