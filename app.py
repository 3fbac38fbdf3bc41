"""AppCreds: the application factory.

    flask --app app run                 # development server
    deploy/granian.sh                   # production: app:create_worker_app (or gunicorn -c
                                        # deploy/gunicorn.conf.py 'app:create_app()', whose hook freezes the same way)

Configuration, lowest to highest precedence: DEFAULTS below, `instance/config.py`,
`APPCREDS_*` environment variables, then the `config` mapping given to `create_app`.
"""
import gc
import logging
import os
from pathlib import Path

from flask import Flask, Response

from blueprints.request_bodies import AppCredsRequest

ROOT = Path(__file__).resolve().parent


class AppCredsResponse(Response):
    """Flask's response, handed to the server as a one-item list when its body is already in memory.

    PEP 3333 lets an application return any iterable; Werkzeug wraps every body in an iterator with
    a close(). A list tells the server the whole body is there: granian then sends it in one piece
    (its `response_bytes`) instead of pulling chunks from Python into a channel for its I/O thread,
    about 3 % more tokens per second under load (2.7 to 5.7 % in 4 pairs of runs). A streamed body (a
    generator, a file) is passed on unchanged."""

    def get_app_iter(self, environ):
        app_iter = super().get_app_iter(environ)
        if not self.is_sequence or not hasattr(app_iter, "close"):
            return app_iter
        try:
            return [b"".join(app_iter)]
        finally:
            app_iter.close()  # the response's close callbacks, as the server would have called them


class AppCredsFlask(Flask):
    """Flask, with three savings on every request (bench/profile_token.py): form bodies are parsed
    by AppCredsRequest (blueprints/request_bodies.py), whether a view or a hook is a coroutine
    function is asked once per function instead of at every call (together about 35 µs per token),
    and a body in memory goes to the server in one piece (AppCredsResponse)."""

    request_class = AppCredsRequest
    response_class = AppCredsResponse

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._known_sync: set = set()  # views and hooks that Flask's ensure_sync hands back unchanged

    def ensure_sync(self, func):
        if func in self._known_sync:
            return func
        result = super().ensure_sync(func)
        if result is func and len(self._known_sync) < 10_000:  # registered functions: a bounded set
            self._known_sync.add(func)
        return result

# Every setting, its default, and (by its type) how its environment variable is parsed.
DEFAULTS = {
    "APPCREDS_ISSUER": "http://127.0.0.1:5000/",
    "APPCREDS_DEFAULT_AUDIENCE": "",
    "APPCREDS_ACCESS_TOKEN_LIFETIME": 3600,          # seconds
    "APPCREDS_ACCESS_TOKEN_ALG": "RS256",            # or PS256, ES256, EdDSA (models/signing_keys.py)
    # The authorization-code flow: see blueprints/oauth/grants.py and blueprints/authorize/
    "APPCREDS_AUTHORIZATION_CODE_LIFETIME": 60,      # seconds; one-time codes (RFC 6749 §4.1.2: short)
    "APPCREDS_REFRESH_TOKEN_LIFETIME": 30 * 24 * 3600,  # seconds, for a whole rotating family
    "APPCREDS_MAX_BODY_BYTES": 64 * 1024,            # protocol and form requests
    "APPCREDS_DISCARD_BODY_BYTES": 8 * 1024 * 1024,  # an oversized body up to this is read (and dropped) to answer 413
    "APPCREDS_MAX_PARAMETER_LENGTH": 2048,           # characters in one authorization request parameter
    "APPCREDS_MAX_PENDING_PER_CLIENT": 1000,         # unfinished /authorize transactions per application
    "APPCREDS_MAX_PUSHED_PER_CLIENT": 1000,          # unused PAR request_uris per application
    "APPCREDS_EVENT_FLUSH_SECONDS": 0.5,             # 0 writes each auth event at once
    "APPCREDS_EVENT_RETENTION_DAYS": 90,             # older events are deleted (models/auth_event.py); 0 keeps all
    "APPCREDS_CLIENT_SNAPSHOT_CAPACITY": 10_000,     # applications each worker keeps (models/client_snapshots.py)
    # The inspector: every check an attempt made (blueprints/oauth/inspection.py). Failures are always kept;
    # successes at most once per application per this many seconds (0 keeps every one).
    "APPCREDS_INSPECT_SUCCESSES_EVERY": 60,
    "APPCREDS_INSPECTION_RETENTION_DAYS": 14,        # older inspections are cleared, their events kept; 0 keeps all
    # Private Key JWT (RFC 7523): see blueprints/oauth/client_auth/private_key_jwt.py
    "APPCREDS_ASSERTION_MAX_LIFETIME": 300,          # seconds, Auth0's limit
    "APPCREDS_CLOCK_SKEW": 10,                       # seconds allowed for iat/nbf in the future
    "APPCREDS_ASSERTION_MAX_BYTES": 8192,
    "APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD": False,
    "APPCREDS_PROXY_FIX_HOPS": 0,                    # >0 when behind that many proxies (APPCREDS_TRUSTED_PROXIES)
    # mTLS (RFC 8705) behind a TLS-terminating edge: see blueprints/oauth/client_auth/mtls.py
    "APPCREDS_EDGE_SECRET": "",                      # shared with the edge; mTLS is off without it
    "APPCREDS_EDGE_SECRET_HEADER": "cname-api-key",
    "APPCREDS_MTLS_CERT_HEADER": "client-certificate",
    "APPCREDS_MTLS_VERIFIED_HEADER": "client-certificate-ca-verified",
    "APPCREDS_TRUSTED_PROXIES": "",                  # comma-separated addresses or networks
    "APPCREDS_MTLS_CA_BUNDLE": "",                   # PEM file of CAs trusted for tls_client_auth
    "APPCREDS_MTLS_BASE_URL": "",                    # the mTLS alias host, e.g. https://mtls.auth.example/
    # Rate limits: see blueprints/rate_limits.py and the README's Security section ("N/minute", "N/hour")
    "APPCREDS_RATELIMIT_ENABLED": True,
    "APPCREDS_RATELIMIT_STORAGE_URI": "memory://",  # per worker; redis://host:6379 shares counters
    "APPCREDS_RATELIMIT_CLIENT_FAILURES": "20/minute",     # failed client auths per (client id, source)
    "APPCREDS_RATELIMIT_CLIENT_ID_FAILURES": "200/minute",  # ... per client id, from anywhere
    "APPCREDS_RATELIMIT_SOURCE_FAILURES": "600/minute",     # ... per source, for any client id
    "APPCREDS_RATELIMIT_SIGN_IN_ACCOUNT": "5/minute",       # sign-in POSTs per (email, source)
    "APPCREDS_RATELIMIT_SIGN_IN_SOURCE": "60/minute",       # sign-in POSTs per source
    "APPCREDS_RATELIMIT_AUTHORIZE": "120/minute",           # /authorize transactions per source
    "APPCREDS_RATELIMIT_PAR": "60/minute",                  # pushed requests per (client id, source)
    # Browser sessions: see blueprints/auth/session_policy.py and the README's Security section
    "APPCREDS_SESSION_IDLE_SECONDS": 30 * 60,        # a dashboard session unused this long ends
    "APPCREDS_SESSION_MAX_SECONDS": 12 * 3600,       # and any dashboard session ends this long after sign-in
}
# Settings whose environment variable has another name than the config key.
ENVIRONMENT_ALIASES = {"APPCREDS_DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def create_app(config=None):
    """Build the Flask application; `config` (a mapping) overrides everything else."""
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or os.environ.get("APPCREDS_INSTANCE_PATH")
                         or ROOT / "instance").resolve()
    app = AppCredsFlask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    load_configuration(app, config)

    from blueprints import register_blueprints
    from blueprints.extensions import init_extensions

    init_extensions(app)
    register_blueprints(app)
    hops = int(app.config["APPCREDS_PROXY_FIX_HOPS"])
    if hops:  # X-Forwarded-* only from APPCREDS_TRUSTED_PROXIES (none listed: from nobody)
        from blueprints.oauth.edge import TrustedProxyFix

        if not app.config["APPCREDS_TRUSTED_PROXIES"]:
            logging.getLogger("appcreds").warning("APPCREDS_PROXY_FIX_HOPS is set but APPCREDS_TRUSTED_PROXIES "
                                                  "is empty: X-Forwarded-* headers are ignored")
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, hops, app.config["APPCREDS_TRUSTED_PROXIES"])
    return app


def create_worker_app():
    """create_app() for a server's worker process (deploy/granian.sh), then `freeze_startup_objects`."""
    app = create_app()
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """Move the objects that exist once a worker's app is built out of the garbage collector's sight
    (gc.freeze), so that a full collection during the worker's life scans only what came later.

    The app, Flask, SQLAlchemy, Authlib and cryptography are hundreds of thousands of objects that
    live as long as the worker: each full collection scanned them all, about 55 ms during which
    the worker answered nothing (bench load: about one per worker every 8 s, which set the p99).
    Called once per worker process, after a collection, so no garbage is frozen with them.
    """
    gc.collect()
    gc.freeze()


def load_configuration(app: Flask, overrides: dict) -> None:
    instance = Path(app.instance_path)
    app.config.from_mapping(DEFAULTS)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'appcreds.sqlite'}"
    app.config.from_pyfile("config.py", silent=True)
    for name, default in DEFAULTS.items():
        if name in os.environ:
            app.config[name] = _parse_environment_value(name, os.environ[name], default)
    for env_name, key in ENVIRONMENT_ALIASES.items():
        if env_name in os.environ:
            app.config[key] = os.environ[env_name]
    for env_name in os.environ:  # APPCREDS_* settings without a default above, read as strings
        if env_name.startswith("APPCREDS_") and env_name not in DEFAULTS and env_name not in ENVIRONMENT_ALIASES:
            app.config.setdefault(env_name, os.environ[env_name])
    app.config.update(overrides)

    # The issuer identifier always ends with "/" (Auth0's form; RFC 8414 §2 allows a path).
    if not app.config["APPCREDS_ISSUER"].endswith("/"):
        app.config["APPCREDS_ISSUER"] += "/"
    # Session cookies: never read by scripts, not sent on cross-site POSTs, https-only behind an https issuer.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if app.config["APPCREDS_ISSUER"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["APPCREDS_MAX_BODY_BYTES"])
    # Refuse to start with an algorithm no key can be made for, rather than fail at the first token.
    from models.signing_keys import check_access_token_alg

    check_access_token_alg(app.config["APPCREDS_ACCESS_TOKEN_ALG"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _parse_environment_value(name: str, raw: str, default):
    if isinstance(default, bool):
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"{name} must be true or false, not {raw!r}")
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
