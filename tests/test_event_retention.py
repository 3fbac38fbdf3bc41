"""Issue 10 item 6: auth_events does not grow for ever (models/auth_event.py purge_old_events)."""
from datetime import timedelta

import pytest

from models import db
from models.auth_event import AuthEvent, purge_old_events
from models.state import app_state
from models.timeutil import utcnow


def record_events(app, ages_in_days):
    recorder = app_state(app).events
    recorder._next_purge = float("inf")  # no purge while the rows are written (they are written at once here)
    for age in ages_in_days:
        recorder.record(client_id_sent="someone", outcome="failure", reason_code="unknown_client",
                        created_at=utcnow() - timedelta(days=age))
    recorder.flush()


def remaining_ages(app):
    with app.app_context():
        rows = db.session.execute(db.select(AuthEvent.created_at)).scalars().all()
        return sorted(round((utcnow() - created).total_seconds() / 86400) for created in rows)


def test_events_older_than_the_retention_period_are_deleted_in_batches(app):
    record_events(app, [200, 120, 95, 91, 91, 30, 0])
    with app.app_context():
        assert purge_old_events(90, batch=2) == 5
    assert remaining_ages(app) == [0, 30]


def test_a_retention_of_zero_keeps_every_event(app):
    record_events(app, [400, 0])
    with app.app_context():
        assert purge_old_events(0) == 0
    assert remaining_ages(app) == [0, 400]


@pytest.fixture
def app_config():
    return {"APPCREDS_EVENT_RETENTION_DAYS": 7}


def test_the_recorder_purges_by_the_setting_at_most_once_an_interval(app):
    recorder = app_state(app).events
    record_events(app, [10, 1])
    recorder._next_purge = 0.0  # the interval has passed
    assert recorder.purge_now_and_then() == 1
    assert remaining_ages(app) == [1]
    record_events(app, [10])
    recorder._next_purge = 0.0
    recorder.record(client_id_sent="someone", outcome="failure", reason_code="unknown_client")  # purges too
    assert remaining_ages(app) == [0, 1]
    assert recorder.purge_now_and_then() == 0  # not again within the interval
