"""AppCreds: the application factory.

    flask --app app run                 # development server
    gunicorn 'app:create_app()'         # production

Configuration, lowest to highest precedence: DEFAULTS below, `instance/config.py`,
`APPCREDS_*` environment variables, then the `config` mapping given to `create_app`.
"""
import logging
import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent

# Every setting, its default, and (by its type) how its environment variable is parsed.
DEFAULTS = {
    "APPCREDS_ISSUER": "http://127.0.0.1:5000/",
    "APPCREDS_DEFAULT_AUDIENCE": "",
    "APPCREDS_ACCESS_TOKEN_LIFETIME": 3600,          # seconds
    # The authorization-code flow: see blueprints/oauth/grants.py and blueprints/authorize/
    "APPCREDS_AUTHORIZATION_CODE_LIFETIME": 60,      # seconds; one-time codes (RFC 6749 §4.1.2: short)
    "APPCREDS_REFRESH_TOKEN_LIFETIME": 30 * 24 * 3600,  # seconds, for a whole rotating family
    "APPCREDS_MAX_BODY_BYTES": 64 * 1024,            # protocol and form requests
    "APPCREDS_EVENT_FLUSH_SECONDS": 0.5,             # 0 writes each auth event at once
    # Private Key JWT (RFC 7523): see blueprints/oauth/client_auth/private_key_jwt.py
    "APPCREDS_ASSERTION_MAX_LIFETIME": 300,          # seconds, Auth0's limit
    "APPCREDS_CLOCK_SKEW": 10,                       # seconds allowed for iat/nbf in the future
    "APPCREDS_ASSERTION_MAX_BYTES": 8192,
    "APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD": False,
    "APPCREDS_PROXY_FIX_HOPS": 0,                    # >0 when behind that many trusted reverse proxies
    # mTLS (RFC 8705) behind a TLS-terminating edge: see blueprints/oauth/client_auth/mtls.py
    "APPCREDS_EDGE_SECRET": "",                      # shared with the edge; mTLS is off without it
    "APPCREDS_EDGE_SECRET_HEADER": "cname-api-key",
    "APPCREDS_MTLS_CERT_HEADER": "client-certificate",
    "APPCREDS_MTLS_VERIFIED_HEADER": "client-certificate-ca-verified",
    "APPCREDS_TRUSTED_PROXIES": "",                  # comma-separated addresses or networks
    "APPCREDS_MTLS_CA_BUNDLE": "",                   # PEM file of CAs trusted for tls_client_auth
    "APPCREDS_MTLS_BASE_URL": "",                    # the mTLS alias host, e.g. https://mtls.auth.example/
}
# Settings whose environment variable has another name than the config key.
ENVIRONMENT_ALIASES = {"APPCREDS_DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def create_app(config=None):
    """Build the Flask application; `config` (a mapping) overrides everything else."""
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or os.environ.get("APPCREDS_INSTANCE_PATH")
                         or ROOT / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    load_configuration(app, config)

    from blueprints import register_blueprints
    from blueprints.extensions import init_extensions

    init_extensions(app)
    register_blueprints(app)
    hops = int(app.config["APPCREDS_PROXY_FIX_HOPS"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    return app


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
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["APPCREDS_MAX_BODY_BYTES"])
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
