"""Rate limits (Flask-Limiter on the `limits` library): who may try how often, and the 429.

Every limit is a setting (app.py DEFAULTS, "N/minute"); the counters live in the store
APPCREDS_RATELIMIT_STORAGE_URI names: `memory://` counts per worker process (so the effective
limit is N times the number of workers), `redis://host:6379` shares them across workers and
servers. Each refusal is written to the event log (event type `rate_limited`).

1. Sign-in (dashboard and end users), before any password is hashed, on POST only:
   per (account, source) tightly, per source loosely (`sign_in_limits`).
2. /authorize transactions per source, and PAR per (client id, source) (`authorize_limits`, `par_limits`).
3. Failed client authentications (the front door, client_auth/__init__.py): only failures are
   counted, per (client id, source) tightly, per client id loosely, per source very loosely, so
   lock-out cannot be turned against a known client id from elsewhere. A request is refused by
   a look-up in this process's own table of blocked keys, filled when a failure finds a counter
   full; a successful token request thus never touches the store (`FailureLimits`).
"""
import functools
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits import parse

from blueprints.oauth.errors import TooManyRequestsError
from models.auth_event import loggable
from models.state import app_state

SIGN_IN_ENDPOINTS = {"auth.login": "dashboard_sign_in", "authorize.login": "sign_in"}


def source() -> str:
    """The address the request came from (X-Forwarded-For only from a trusted proxy: edge.py)."""
    return request.remote_addr or "unknown"


def sent_client_id() -> str:
    """The client id a protocol request names: in the body (a form or JSON), or as the Basic user name."""
    if request.mimetype == "application/json":
        try:
            document = request.get_json(silent=True)
        except RecursionError:  # deeply nested JSON: the view answers it (blueprints/oauth/server.py)
            document = None
        client_id = document.get("client_id") if isinstance(document, dict) else None
        client_id = client_id if isinstance(client_id, str) else None
    else:
        client_id = request.form.get("client_id")
    if not client_id and request.authorization is not None:
        client_id = request.authorization.username
    return (client_id or "")[:128]


def setting(name: str):
    return lambda: current_app.config[name]


def record_refusal(endpoint: str, client_id: str | None, detail: str) -> None:
    """Put a refusal on the event log (and on the application's Logs tab when one is named)."""
    client = app_state().client_snapshots.find(client_id) if client_id else None
    app_state().events.record(
        event_type="rate_limited", client_id_sent=client_id or None, client_pk=client.id if client else None,
        endpoint=endpoint, method=None, outcome="failure", reason_code="rate_limited",
        reason=f"rate limit exceeded: {detail}", source_ip=source())


def _on_breach(limit: RequestLimit) -> None:
    endpoint = request.endpoint or ""
    if endpoint in SIGN_IN_ENDPOINTS:
        record_refusal(SIGN_IN_ENDPOINTS[endpoint], None, f"{limit.limit} sign-in attempts")
    else:
        record_refusal(endpoint.rsplit(".", 1)[-1], sent_client_id() or request.args.get("client_id"),
                       f"{limit.limit} requests")


limiter = Limiter(key_func=source, on_breach=_on_breach, strategy="moving-window")

# Paths with no limit of their own: Flask-Limiter's three hooks (before, after and teardown of
# every request) are not run there at all (`skip_limiter_hooks_on_unlimited_paths`), so a token
# request pays nothing for them (about 50 µs per token, bench/profile_token.py); failed client
# authentications are counted by FailureLimits below instead.
UNLIMITED_PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect", "/.well-known/", "/api/", "/static/")


def _has_no_limits() -> bool:
    return request.path.startswith(UNLIMITED_PATHS)


def skip_limiter_hooks_on_unlimited_paths(app: Flask) -> None:
    """Wrap the hooks Flask-Limiter registered on `app` so that they return at once on UNLIMITED_PATHS.

    Flask-Limiter's own request filter is asked only after it has resolved the view's limits, so it
    saves little; Flask has no per-route hooks, hence this wrapping. Each hook is found by the
    object it belongs to (a bound method of `limiter`, or a partial over it), and a test checks
    that all three were found (tests/test_rate_limits.py).
    """
    def belongs_to_limiter(hook) -> bool:
        return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())

    def before(hook):
        return functools.wraps(hook)(lambda: None if _has_no_limits() else hook())

    def after(hook):
        return functools.wraps(hook)(lambda response: response if _has_no_limits() else hook(response))

    def teardown(hook):
        return functools.wraps(hook)(lambda error=None: None if _has_no_limits() else hook(error))

    for hooks, wrap in ((app.before_request_funcs[None], before), (app.after_request_funcs[None], after),
                        (app.teardown_request_funcs[None], teardown)):
        hooks[:] = [wrap(hook) if belongs_to_limiter(hook) else hook for hook in hooks]


# Keys are escaped: Flask-Limiter writes them into its log line when a limit is reached.
def _account_and_source() -> str:
    return loggable(f"{request.form.get('email', '').strip().lower()[:254]}|{source()}")


def _client_and_source() -> str:
    return loggable(f"{sent_client_id()}|{source()}")


def _stack(*decorators):
    def decorate(view):
        for decorator in reversed(decorators):
            view = decorator(view)
        return view
    return decorate


# Decorators for the views (Flask-Limiter checks them before the view runs, so before hashing).
sign_in_limits = _stack(
    limiter.limit(setting("APPCREDS_RATELIMIT_SIGN_IN_ACCOUNT"), key_func=_account_and_source, methods=["POST"]),
    limiter.limit(setting("APPCREDS_RATELIMIT_SIGN_IN_SOURCE"), methods=["POST"]),
)
authorize_limits = limiter.limit(setting("APPCREDS_RATELIMIT_AUTHORIZE"))
par_limits = limiter.limit(setting("APPCREDS_RATELIMIT_PAR"), key_func=_client_and_source)


def retry_after() -> int:
    """Seconds until the limit this request broke lets it through again."""
    current = limiter.current_limit
    return max(1, int(current.reset_at - time.time())) if current else 60


class FailureLimits:
    """Failed client authentications, counted in the limiter's store; refusals decided locally."""

    KEYS = (("APPCREDS_RATELIMIT_CLIENT_FAILURES", "client+source"),
            ("APPCREDS_RATELIMIT_CLIENT_ID_FAILURES", "client"),
            ("APPCREDS_RATELIMIT_SOURCE_FAILURES", "source"))
    MAX_BLOCKED = 10000  # keys remembered in one process; expired ones are dropped first

    def __init__(self):
        self._blocked: dict[tuple, float] = {}

    def reset(self) -> None:
        self._blocked.clear()

    def _keys(self, client_id: str | None, address: str):
        values = {"client+source": f"{client_id}|{address}" if client_id else None,
                  "client": client_id or None, "source": address}
        return [(setting_name, kind, values[kind]) for setting_name, kind in self.KEYS if values[kind]]

    def check(self, client_id: str | None) -> None:
        """Raise 429 while this client id or this source is blocked (a dict look-up, no store)."""
        if not self._blocked:
            return
        now = time.time()
        for _setting, kind, value in self._keys(client_id, source()):
            until = self._blocked.get((kind, value), 0)
            if until > now:
                raise TooManyRequestsError("rate_limited", "too many failed client authentications; try again later",
                                           retry_after=until - now, reason=f"rate limit exceeded: failures per {kind}")

    def count_failure(self, client_id: str | None) -> None:
        """Count one failed authentication; block the keys whose counter is now full."""
        if not limiter.enabled:
            return
        strategy = limiter.limiter
        for setting_name, kind, value in self._keys(client_id, source()):
            item = parse(current_app.config[setting_name])
            # Full after this failure (or already): the next attempt is refused.
            if not strategy.hit(item, "client_auth_failures", kind, value) \
                    or not strategy.test(item, "client_auth_failures", kind, value):
                reset_at = strategy.get_window_stats(item, "client_auth_failures", kind, value).reset_time
                self._block((kind, value), max(reset_at, time.time() + 1))

    def _block(self, key: tuple, until: float) -> None:
        if len(self._blocked) >= self.MAX_BLOCKED:
            now = time.time()
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
        self._blocked[key] = until


failure_limits = FailureLimits()


def init_rate_limits(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["APPCREDS_RATELIMIT_STORAGE_URI"])
    app.config.setdefault("RATELIMIT_ENABLED", bool(app.config["APPCREDS_RATELIMIT_ENABLED"]))
    limiter.init_app(app)
    skip_limiter_hooks_on_unlimited_paths(app)
    failure_limits.reset()  # a new app (tests make many) starts with a new store
