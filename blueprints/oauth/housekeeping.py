"""Housekeeping on the request path: delete expired one-time state now and then.

A purge is one indexed DELETE per table, cheap but not free, so requests run it at most once
per interval in each process (`at_most_every`). Correctness never depends on it: expiry is
checked on every use; the purge only keeps the tables small.
"""
import functools
import time

from models import db
from models.authorization import purge_expired_flow_state

FLOW_STATE_PURGE_INTERVAL = 60.0  # seconds


def at_most_every(seconds: float):
    """Decorate a function so that it runs at most once per `seconds` in this process; calls in
    between return at once. Each worker keeps its own clock, so a purge may run once per worker."""
    def decorate(function):
        next_run = 0.0

        @functools.wraps(function)
        def throttled() -> None:
            nonlocal next_run
            if time.monotonic() < next_run:
                return
            next_run = time.monotonic() + seconds
            function()

        return throttled
    return decorate


@at_most_every(FLOW_STATE_PURGE_INTERVAL)
def purge_now_and_then() -> None:
    """Delete expired flow state at most once a minute per process (codes, PAR, refresh, revoked jtis)."""
    purge_expired_flow_state()
    db.session.commit()
