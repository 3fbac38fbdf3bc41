"""client_secret_basic (RFC 6749 §2.3.1): a token with the client secret in an HTTP Basic header.

    .venv/bin/python examples/client_secret_basic.py [instance/demo/demo.json]

Authlib's OAuth2Session sends `Authorization: Basic base64(client_id:client_secret)` (each part
form-urlencoded first, RFC 6749 §2.3.1) and the grant in the body (RFC 6749 §4.4.2).
"""
from authlib.integrations.requests_client import OAuth2Session
from demo import argument_parser, expect, load_demo, run, show, step, verified_claims


def main():
    demo = load_demo(argument_parser(__doc__.splitlines()[0]).parse_args())
    application = demo["applications"]["client_secret_basic"]
    audience = demo["demo_api"]["audience"]

    step(f"POST {demo['token_endpoint']} with grant_type=client_credentials, the secret in a Basic header")
    session = OAuth2Session(application["client_id"], application["client_secret"],
                            token_endpoint_auth_method="client_secret_basic")
    # Auth0's `audience` parameter names the API the token is for.
    token = session.fetch_token(demo["token_endpoint"], grant_type="client_credentials", audience=audience)
    show("token_type", token["token_type"])
    show("expires_in", token["expires_in"])

    step("verify the access token (RFC 9068) with the keys at /.well-known/jwks.json")
    claims = verified_claims(demo, token["access_token"], audience)
    show("client_id", claims["client_id"])
    show("scope", claims.get("scope"))

    step(f"GET {demo.whoami_url} with the token (RFC 6750 Bearer)")
    whoami = expect(session.get(demo.whoami_url, timeout=10), 200, "the demo API")  # the session adds the header
    show("the demo API says client_id", whoami["client_id"])


if __name__ == "__main__":
    run(main)
