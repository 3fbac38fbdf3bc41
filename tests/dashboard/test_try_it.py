"""The Credentials tab's "Try it" section (blueprints/dashboard/try_it.py, templates/dashboard/credentials/try_it/).

Each snippet is checked for this application's client id and this server's addresses, for the secret
only after a Reveal on that same response, and for valid syntax (Python compiles, bash -n parses);
tests/e2e/test_try_it_snippets.py runs them against a real server.
"""
import html
import re
import shutil
import subprocess

import pytest
from flask import url_for

from models import db
from models.applications import find_application, set_auth_method, update_application
from models.credential_registry import add_certificate_credential
from tests.dashboard.conftest import url
from tests.factories import DEMO_API, ISSUER, make_app, make_rsa_certificate, make_rsa_key, register_key

TOKEN_ENDPOINT = ISSUER + "oauth/token"
CALLBACK = "http://localhost:8080/callback"


def snippet(page: str, snippet_id: str) -> str:
    """The text of the Try-it snippet with this id, as a browser shows it (and as a copy button copies it)."""
    match = re.search(rf'<pre id="{snippet_id}"[^>]*><code>(.*?)</code></pre>', page, re.DOTALL)
    assert match, f"the page has no snippet {snippet_id}"
    return html.unescape(match.group(1))


def snippet_ids(page: str) -> list[str]:
    return re.findall(r'<pre id="([^"]+)" data-snippet=', page)


def credentials_page(client, client_id) -> str:
    response = client.get(url(client_id, "credentials"))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reveal(dashboard, client_id):
    """Reveal the secret and follow the redirect: the one response that shows it."""
    posted = dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))
    assert posted.status_code == 303
    return dashboard.client.get(url(client_id, "credentials"))


def check_python(text: str) -> None:
    compile(text, "snippet.py", "exec")


def check_shell(text: str) -> None:
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", "-c", text], check=True)


def switch_method(app, client_id, method):
    with app.app_context():
        set_auth_method(find_application(client_id), method)
        db.session.commit()


# --- client secret ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_secret_snippets_name_this_application_and_server_and_hold_a_placeholder(client, dashboard, app, method):
    client_id, secret = make_app(app, method=method)
    page = credentials_page(client, client_id)
    assert snippet_ids(page) == ["try-it-secret-curl", "try-it-secret-python"]
    curl, python = snippet(page, "try-it-secret-curl"), snippet(page, "try-it-secret-python")
    assert secret not in page
    assert "Reveal the secret above to fill it in" in page
    assert '"$CLIENT_SECRET"' in curl and 'client_secret = "YOUR_CLIENT_SECRET"' in python
    assert TOKEN_ENDPOINT in curl and f'"{TOKEN_ENDPOINT}"' in python
    assert f"audience={DEMO_API}" in curl and f'audience="{DEMO_API}"' in python
    assert f'client_id = "{client_id}"' in python
    assert f'token_endpoint_auth_method="{method}"' in python
    if method == "client_secret_basic":
        assert f'--user {client_id}:"$CLIENT_SECRET"' in curl and "client_secret=" not in curl
    else:
        assert f"-d client_id={client_id}" in curl and 'client_secret="$CLIENT_SECRET"' in curl
        assert "--user" not in curl
    check_shell(curl)
    check_python(python)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_the_secret_is_in_the_snippets_only_on_the_response_that_reveals_it(client, dashboard, app, method):
    client_id, secret = make_app(app, method=method)
    revealed = reveal(dashboard, client_id)
    assert revealed.headers["Cache-Control"] == "no-store"
    page = revealed.get_data(as_text=True)
    curl, python = snippet(page, "try-it-secret-curl"), snippet(page, "try-it-secret-python")
    assert f'client_secret = "{secret}"' in python
    assert (f"--user {client_id}:{secret}" if method == "client_secret_basic" else f"client_secret={secret}") in curl
    assert "$CLIENT_SECRET" not in curl and "YOUR_CLIENT_SECRET" not in page
    check_shell(curl)
    check_python(python)
    # The next visit shows the placeholders again.
    assert secret not in credentials_page(client, client_id)


def test_without_a_granted_api_the_request_names_none_and_the_tab_says_where_to_grant_one(client, dashboard, app):
    client_id, _ = make_app(app, grant=None)
    page = credentials_page(client, client_id)
    assert "audience" not in snippet(page, "try-it-secret-curl")
    assert "audience" not in snippet(page, "try-it-secret-python")
    assert f'href="{url(client_id, "apis")}"' in page and "granted no API" in page


def test_says_when_the_application_may_not_use_client_credentials(client, dashboard, app):
    client_id, _ = make_app(app, app_type="regular_web", grant_types=["authorization_code"],
                            callback_urls=[CALLBACK])
    page = credentials_page(client, client_id)
    assert "may not use the <code>client_credentials</code> grant" in page


# --- Private Key JWT -------------------------------------------------------------------------------

def test_private_key_jwt_snippet_signs_for_this_issuer_with_the_registered_key(client, dashboard, app):
    client_id, secret = make_app(app)
    key = register_key(app, client_id, make_rsa_key("try-it"), alg="PS256", name="billing")
    switch_method(app, client_id, "private_key_jwt")
    page = credentials_page(client, client_id)
    assert snippet_ids(page) == ["try-it-private-key-jwt-python"]
    python = snippet(page, "try-it-private-key-jwt-python")
    assert f'client_id = "{client_id}"' in python
    assert '"iss": client_id' in python and '"sub": client_id' in python
    assert f'"aud": "{ISSUER}"' in python  # the issuer exactly, not the token endpoint
    assert '"jti": secrets.token_urlsafe(16)' in python and '"exp": now + 60' in python
    assert f'headers={{"kid": "{key["kid"]}"}}' in python and 'algorithm="PS256"' in python
    assert 'open("billing.key", "rb")' in python  # the file `keys generate billing` wrote
    assert "flask --app app keys generate" in python
    assert f'"{TOKEN_ENDPOINT}"' in python and f'"audience": "{DEMO_API}"' in python
    assert secret not in page
    check_python(python)


def test_private_key_jwt_snippet_reads_private_key_when_the_key_has_no_file_like_name(client, dashboard, app):
    client_id, _ = make_app(app)
    register_key(app, client_id, make_rsa_key("try-it-unnamed"), name="<b>my key</b>")
    switch_method(app, client_id, "private_key_jwt")
    page = credentials_page(client, client_id)
    assert 'open("private.key", "rb")' in snippet(page, "try-it-private-key-jwt-python")
    assert "<b>my key</b>" not in page  # autoescaped wherever the name shows


def test_the_assertion_lifetime_stays_within_the_servers_maximum(client, dashboard, app):
    app.config["APPCREDS_ASSERTION_MAX_LIFETIME"] = 30
    client_id, _ = make_app(app)
    register_key(app, client_id, make_rsa_key("try-it-short"))
    switch_method(app, client_id, "private_key_jwt")
    assert '"exp": now + 30' in snippet(credentials_page(client, client_id), "try-it-private-key-jwt-python")


# --- mTLS ------------------------------------------------------------------------------------------

@pytest.fixture
def mtls_app(app):
    """A self_signed_tls_client_auth application whose certificate is called "laptop" (keys generate's NAME)."""
    app.config["APPCREDS_EDGE_SECRET"] = "edge secret for try-it tests"
    client_id, _ = make_app(app)
    with app.app_context():
        application = find_application(client_id)
        add_certificate_credential(application, make_rsa_certificate(make_rsa_key("try-it-mtls")), name="laptop")
        set_auth_method(application, "self_signed_tls_client_auth")
        db.session.commit()
    return client_id


def test_mtls_snippet_presents_the_certificate_at_the_edge(client, dashboard, mtls_app):
    page = credentials_page(client, mtls_app)
    curl = snippet(page, "try-it-mtls-curl")
    assert "--cert laptop.crt --key laptop.key" in curl
    assert f"-d client_id={mtls_app}" in curl and f"audience={DEMO_API}" in curl
    assert 'EDGE=https://localhost:8443' in curl and '"$EDGE"/oauth/token' in curl
    assert "client_secret" not in curl
    check_shell(curl)


def test_mtls_snippet_uses_the_edges_address_when_the_server_knows_it(client, dashboard, app, mtls_app):
    app.config["APPCREDS_MTLS_BASE_URL"] = "https://mtls.example.test/"
    curl = snippet(credentials_page(client, mtls_app), "try-it-mtls-curl")
    assert curl.rstrip().endswith("https://mtls.example.test/oauth/token")
    assert "EDGE" not in curl


# --- the authorization request (public clients, JAR and PAR) ---------------------------------------

def test_a_public_application_gets_an_authorize_url_builder_with_pkce(client, dashboard, app):
    client_id, _ = make_app(app, method="none", app_type="spa", callback_urls=[CALLBACK])
    page = credentials_page(client, client_id)
    assert snippet_ids(page) == ["try-it-authorize-python"]
    python = snippet(page, "try-it-authorize-python")
    assert f'"redirect_uri": "{CALLBACK}"' in python and f'"audience": "{DEMO_API}"' in python
    assert '"code_challenge_method": "S256"' in python and "hashlib.sha256(code_verifier.encode())" in python
    assert f'"{ISSUER}authorize"' in python
    assert "requests" not in python and "jwt" not in python  # nothing pushed, nothing signed
    check_python(python)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
def test_with_a_jar_key_the_request_is_signed_and_pushed(client, dashboard, app, method):
    client_id, _ = make_app(app, app_type="regular_web", method="none" if method == "none" else "client_secret_basic",
                            callback_urls=[CALLBACK])
    jar_key = register_key(app, client_id, make_rsa_key(f"try-it-jar-{method}"), use="jar", name="signer")
    if method not in ("none", "client_secret_basic"):
        if method == "private_key_jwt":
            register_key(app, client_id, make_rsa_key("try-it-jar-pkjwt"), name="billing")
        switch_method(app, client_id, method)
    python = snippet(credentials_page(client, client_id), "try-it-authorize-python")
    assert 'open("signer.key", "rb")' in python and f'"kid": "{jar_key["kid"]}"' in python
    assert '"typ": "oauth-authz-req+jwt"' in python and f'"aud": "{ISSUER}"' in python
    assert f'"{ISSUER}oauth/par"' in python and 'response.json()["request_uri"]' in python
    authentication = {"client_secret_basic": "auth=(client_id, client_secret)",
                      "client_secret_post": '"client_secret": client_secret',
                      "private_key_jwt": 'open("billing.key", "rb")', "none": "data=parameters"}
    assert authentication[method] in python
    check_python(python)


def test_required_par_without_jar_pushes_the_plain_parameters(client, dashboard, app):
    client_id, _ = make_app(app, method="none", app_type="native", callback_urls=[CALLBACK])
    with app.app_context():
        update_application(find_application(client_id), require_pushed_authorization_requests=True)
        db.session.commit()
    python = snippet(credentials_page(client, client_id), "try-it-authorize-python")
    assert "oauth/par" in python and "request_object" not in python and "import jwt" not in python
    check_python(python)


def test_a_machine_to_machine_application_gets_no_authorize_snippet(client, dashboard, confidential_app):
    client_id, _ = confidential_app
    assert "try-it-authorize-python" not in credentials_page(client, client_id)


def test_the_section_works_without_javascript(client, dashboard, confidential_app):
    """The snippets are plain text in the page; the copy buttons stay hidden until static/app.js shows them."""
    client_id, _ = confidential_app
    page = credentials_page(client, client_id)
    section = page[page.index('aria-labelledby="try-it-heading"'):]
    section = section[:section.index("</section>")]
    assert "<script" not in section and not re.search(r"\son[a-z]+=", section)  # no inline code (the CSP)
    assert 'data-copy="#try-it-secret-curl"' in section and "hidden>Copy</button>" in section


def test_after_a_rotation_the_snippets_hold_the_new_secret(client, dashboard, app, confidential_app):
    client_id, old_secret = confidential_app
    rotated = dashboard.post(url(client_id, "credentials/rotate"))
    assert rotated.status_code == 303
    page = client.get(url(client_id, "credentials")).get_data(as_text=True)
    python = snippet(page, "try-it-secret-python")
    new_secret = re.search(r'client_secret = "([^"]+)"', python).group(1)
    assert new_secret not in (old_secret, "YOUR_CLIENT_SECRET")
    assert f"{client_id}:{new_secret}" in snippet(page, "try-it-secret-curl")


def test_links_the_guide_page_of_the_method_when_the_guide_is_there(client, dashboard, app, confidential_app):
    if "dashboard.guide" not in app.view_functions:
        pytest.skip("the dashboard has no guide")
    client_id, _ = confidential_app
    with app.test_request_context():
        guide = url_for("dashboard.guide", page="client-secret")
    assert f'<a href="{guide}">Read the guide</a>' in credentials_page(client, client_id)
