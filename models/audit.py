"""Recording what happens to an application outside the token endpoint: changes through each door
(record_change) and the steps of an end user's authorization (record_flow_event).

Both append to the process's event buffer (models/auth_event.py EventRecorder), like the
client-authentication attempts, so the application's Logs tab tells its whole story.
"""
from models.auth_event import DOORS
from models.state import app_state


def record_flow_event(client, event_type: str, outcome: str, reason_code: str, reason: str, *,
                      actor: str | None, source_ip: str | None, endpoint: str = "authorize") -> None:
    """Record a step of an end user's authorization (sign-in, consent, code) on the application's log."""
    app_state().events.record(
        event_type=event_type, client_id_sent=client.client_id if client is not None else None,
        client_pk=client.id if client is not None else None, endpoint=endpoint, method=None, outcome=outcome,
        reason_code=reason_code, reason=reason, source_ip=source_ip, actor=actor,
    )


def record_change(client, event_type: str, reason: str, *, door: str, actor: str | None,
                  source_ip: str | None = None) -> None:
    """Record a change to an application (or a look at its secret): what, why, who, through which door."""
    if door not in DOORS:
        raise ValueError(f"unknown door {door!r}")
    app_state().events.record(
        event_type=event_type, client_id_sent=client.client_id, client_pk=client.id, endpoint=door,
        method=None, outcome="success", reason_code=event_type, reason=reason, source_ip=source_ip, actor=actor,
    )
