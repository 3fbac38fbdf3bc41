"""The same server on PostgreSQL: migrations on an empty database, tokens from two gunicorn
workers, and Private Key JWT replay protection decided by PostgreSQL's unique constraint."""
import json
import threading

import pytest
import requests
from sqlalchemy import create_engine, inspect

from tests.e2e.postgres import find_postgres_bin, postgres_server
from tests.factories import make_assertion, make_rsa_key, public_pem
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(find_postgres_bin() is None, reason="PostgreSQL is not installed")]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def database_url():
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    with postgres_server() as url:
        yield url


def test_migrations_tokens_and_replay_on_postgresql(tmp_path, database_url):
    instance, port = tmp_path / "instance", free_port()
    issuer = f"http://127.0.0.1:{port}/"
    env = {"APPCREDS_DATABASE_URL": database_url, "APPCREDS_ISSUER": issuer}
    flask_cli(instance, "setup", env=env)
    engine = create_engine(database_url)
    assert {"clients", "credentials", "used_assertions", "auth_events"} <= set(inspect(engine).get_table_names())

    created = json.loads(flask_cli(instance, "clients", "create", "On PostgreSQL", "--app-type", "non_interactive",
                                   "--grant", issuer + "api/demo/", "--scope", "read:demo", "--json", env=env).stdout)
    key = make_rsa_key("postgres-e2e")
    pem_file = tmp_path / "public.pem"
    pem_file.write_text(public_pem(key))
    jwt_app = json.loads(flask_cli(instance, "clients", "create", "JWT on PostgreSQL", "--app-type",
                                   "non_interactive", "--grant", issuer + "api/demo/", "--scope", "read:demo",
                                   "--json", env=env).stdout)["client_id"]
    flask_cli(instance, "credentials", "add", jwt_app, "--use", "private_key_jwt", "--pem", str(pem_file), env=env)
    flask_cli(instance, "clients", "set-method", jwt_app, "private_key_jwt", env=env)

    form = {"grant_type": "client_credentials", "audience": issuer + "api/demo/"}
    with gunicorn(instance, workers=2, port=port, env={**env, "APPCREDS_EVENT_FLUSH_SECONDS": "0"}) as base_url:
        secret_response = requests.post(base_url + "/oauth/token", data=form, timeout=10,
                                         auth=(created["client_id"], created["client_secret"]))
        assert secret_response.status_code == 200, secret_response.text

        # One assertion, sent by 8 threads at once to both workers: PostgreSQL lets exactly one through.
        assertion = make_assertion(jwt_app, key, aud=issuer)
        barrier, statuses = threading.Barrier(8), []

        def send():
            barrier.wait(timeout=10)
            statuses.append(requests.post(base_url + "/oauth/token", timeout=15, data={
                **form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}).status_code)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(statuses) == [200] + [401] * 7

    with engine.connect() as connection:
        reasons = connection.exec_driver_sql(
            "SELECT reason_code FROM auth_events WHERE client_id_sent = %(id)s"
            " AND event_type = 'client_authentication'",
            {"id": jwt_app}).scalars().all()
    engine.dispose()
    assert sorted(reasons) == ["authenticated"] + ["replayed"] * 7
