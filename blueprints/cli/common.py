"""What every command group shares: load an application, commit a change or refuse it, record it.

A refusal from the domain layer (models/errors.py) rolls back and exits non-zero with its
sentence, with nothing stored. A change that committed is then recorded in the application's
event log under the event type the dashboard uses for the same change, so the Logs tab shows
it whichever door it came through (models/auth_event.py).
"""
import click
from sqlalchemy.exc import IntegrityError

from models import Client, db
from models.applications import find_application
from models.audit import record_change
from models.auth_event import COMMAND_LINE
from models.errors import ApplicationError
from models.state import app_state

ACTOR = "command line"  # who made a change, as the event log shows it


def load_application(client_id: str) -> Client:
    """The application with this client id; raises ClickException when there is none."""
    client = find_application(client_id)
    if client is None:
        raise click.ClickException(f"no application has client id {client_id}")
    return client


def commit_or_fail(action, duplicate: str | None = None):
    """Run `action` and commit; returns its result. A refusal rolls back and exits with its sentence.

    `duplicate` is the sentence for a unique constraint that fails at the commit (a twin written
    between the domain's check and ours); without it that IntegrityError propagates.
    """
    try:
        result = action()
        db.session.commit()
        return result
    except ApplicationError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except IntegrityError:
        db.session.rollback()
        if duplicate is None:
            raise
        raise click.ClickException(duplicate) from None


def record(client: Client, event_type: str, reason: str) -> None:
    """Record a change to `client` in its event log: door "cli", actor "command line".

    Call it after the commit: the event log writes on its own connection (SQLite has one writer).
    A command is a short process, so the event is written at once rather than at exit.
    """
    record_change(client, event_type, reason, door=COMMAND_LINE, actor=ACTOR)
    app_state().events.flush()
