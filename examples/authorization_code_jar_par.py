"""A person signs in: the authorization-code flow with PKCE (RFC 7636), a signed request object
(JAR, RFC 9101) pushed to the server first (PAR, RFC 9126).

    .venv/bin/python examples/authorization_code_jar_par.py [instance/demo/demo.json]

1. PKCE: a random code_verifier, and its S256 code_challenge for the request;
2. JAR: the authorization request as a JWT signed with the application's JAR key;
3. PAR: POST it to the PAR endpoint (authenticated with the client secret); get a request_uri;
4. the browser goes to /authorize with only client_id and request_uri; the person signs in and allows;
5. the server redirects to the callback with code, state and iss: check state and iss (RFC 9207);
6. redeem the code with the code_verifier (RFC 7636 §4.5) and the client secret.
"""
import base64
import hashlib
import secrets
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import requests
from demo import TIMEOUT, ExampleFailed, argument_parser, expect, load_demo, run, show, step, verified_claims


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1, §4.2: a high-entropy verifier kept by the application, and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def request_object(demo, application, parameters: dict) -> str:
    """RFC 9101 §4: the authorization request's parameters as claims, signed with the JAR key."""
    now = int(time.time())
    claims = {
        **parameters,
        "iss": application["client_id"],  # §4: the application signs it ...
        "aud": demo["issuer"],             # ... for this authorization server (its issuer, exactly)
        "iat": now, "nbf": now, "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    jar_key = application["jar_key"]
    return jwt.encode(claims, Path(demo.path(jar_key["private_key"])).read_text(), algorithm=jar_key["alg"],
                      headers={"kid": jar_key["kid"], "typ": "oauth-authz-req+jwt"})  # §4: typ says what it is


class FormReader(HTMLParser):
    """The forms of a page: where each posts, and its named fields (the CSRF token among them)."""

    def __init__(self, html: str):
        super().__init__()
        self.forms = []  # [(action, {name: value})]
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", {}))
        elif tag == "input" and self.forms and attrs.get("name") and attrs.get("type") != "submit":
            self.forms[-1][1][attrs["name"]] = attrs.get("value") or ""

    def form_with(self, field: str):
        """(action, fields) of the form that has this field, or None."""
        return next((form for form in self.forms if field in form[1]), None)


def sign_in_and_allow(demo, authorize_url: str, redirect_uri: str) -> str:
    """What a browser and a person do: follow the redirects, sign in, press Allow.

    A browser normally does this step, and the person types the password; here a requests.Session
    keeps the cookies and fills in the server's own HTML forms. Returns the callback URL, which is
    not followed: the application listening there is this script.
    """
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(10):  # /authorize -> /authorize/continue -> sign-in -> consent -> callback
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.split("?")[0] == redirect_uri:  # exactly the registered callback (RFC 6749 §3.1.2)
                return location
            show("redirected to", location.split("?")[0])
            response = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
            continue
        page = FormReader(response.text if response.status_code == 200 else "")
        if page.form_with("password"):
            show("sign-in page", f"signing in as {demo['user']['email']}")
            action, fields = page.form_with("password")
            data = {**fields, "email": demo["user"]["email"], "password": demo["user"]["password"]}
        elif page.form_with("tx"):  # the consent form names the pending request
            show("consent page", "pressing Allow")
            action, fields = page.form_with("tx")
            data = {**fields, "allow": "Allow"}
        else:
            break
        # Each form carries its CSRF token (a hidden field); it posts to its action, or to its own page.
        response = browser.post(urljoin(response.url, action), data=data, allow_redirects=False, timeout=TIMEOUT)
    raise ExampleFailed(f"the sign-in did not end at the callback: HTTP {response.status_code} {response.text[:300]}")


def main():
    demo = load_demo(argument_parser(__doc__.splitlines()[0]).parse_args())
    application = demo["applications"]["authorization_code"]
    client_auth = (application["client_id"], application["client_secret"])  # client_secret_basic

    step("PKCE: a code_verifier, kept here, and its S256 code_challenge, sent")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)  # RFC 6749 §10.12: ties the callback to this request (CSRF)
    show("code_challenge", challenge)

    step("JAR: sign the authorization request with the JAR key")
    signed = request_object(demo, application, {
        "response_type": "code",
        "client_id": application["client_id"],
        "redirect_uri": application["redirect_uri"],
        "scope": demo["demo_api"]["scope"],
        "audience": demo["demo_api"]["audience"],
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    show("header", jwt.get_unverified_header(signed))

    step(f"PAR: POST {demo['par_endpoint']} with the request object, authenticated (RFC 9126 §2.1)")
    pushed = expect(requests.post(demo["par_endpoint"], auth=client_auth, timeout=TIMEOUT,
                                  data={"client_id": application["client_id"], "request": signed}),
                    201, "the pushed authorization request")
    show("request_uri", pushed["request_uri"])
    show("expires_in", pushed["expires_in"])

    step("/authorize with only client_id and request_uri (RFC 9126 §4); sign in and allow")
    authorize_url = requests.Request("GET", demo["authorization_endpoint"], params={
        "client_id": application["client_id"], "request_uri": pushed["request_uri"]}).prepare().url
    callback = sign_in_and_allow(demo, authorize_url, application["redirect_uri"])
    answer = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}
    show("callback", callback.split("?")[0] + "?" + ", ".join(sorted(answer)))

    step("check the callback: state is ours, iss is our authorization server (RFC 9207)")
    if "error" in answer:
        raise ExampleFailed(f"the server answered {answer['error']}: {answer.get('error_description')}")
    if answer.get("state") != state:
        raise ExampleFailed("state differs: this callback does not answer our request")
    if answer.get("iss") != demo["issuer"]:  # RFC 9207 §2.4: stops a mix-up with another server
        raise ExampleFailed(f"iss is {answer.get('iss')!r}, not {demo['issuer']!r}")
    show("state and iss", "as expected")

    step(f"POST {demo['token_endpoint']}: redeem the code with the code_verifier (RFC 7636 §4.5)")
    tokens = expect(requests.post(demo["token_endpoint"], auth=client_auth, timeout=TIMEOUT, data={
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": application["redirect_uri"],  # RFC 6749 §4.1.3: the same as in the request
        "code_verifier": verifier,
    }), 200, "the code redemption")
    claims = verified_claims(demo, tokens["access_token"], demo["demo_api"]["audience"])
    show("access token sub (the person)", claims["sub"])
    show("scope", claims.get("scope"))
    show("refresh_token", "received" if tokens.get("refresh_token") else "none")


if __name__ == "__main__":
    run(main)
