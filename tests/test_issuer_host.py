"""blueprints/issuer_host.py: a request at another host than the issuer's is logged, once per process."""
from tests.factories import ISSUER


def host_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "appcreds" and "but the issuer is" in r.getMessage()]


def test_a_request_at_the_issuers_host_is_not_logged(client, caplog):
    client.get("/.well-known/jwks.json", base_url=ISSUER)
    assert host_warnings(caplog) == []


def test_the_first_request_at_another_host_logs_one_warning(client, caplog):
    """Issue 11 item 12: make run PORT=5077 with an issuer still on 5000."""
    client.get("/.well-known/jwks.json", base_url=ISSUER)
    client.get("/.well-known/jwks.json", base_url="http://127.0.0.1:5077/")
    client.get("/login", base_url="http://localhost:5077/")
    assert host_warnings(caplog) == [
        f"a request reached http://127.0.0.1:5077 but the issuer is {ISSUER}: audiences and addresses derived "
        "from the issuer will not work here; set APPCREDS_ISSUER (make run derives it from HOST and PORT)"]
