"""client_secret_post (RFC 6749 §2.3.1): a token with the client secret in the request body.

    .venv/bin/python examples/client_secret_post.py [instance/demo/demo.json]

Plain `requests`, so every parameter on the wire is visible. RFC 6749 prefers Basic; the body
form exists for clients that cannot send a header. Sending both is refused (RFC 6749 §2.3).
"""
import requests
from demo import TIMEOUT, argument_parser, expect, load_demo, run, show, step, verified_claims


def main():
    demo = load_demo(argument_parser(__doc__.splitlines()[0]).parse_args())
    application = demo["applications"]["client_secret_post"]
    audience = demo["demo_api"]["audience"]

    step(f"POST {demo['token_endpoint']} with client_id and client_secret in the form body")
    response = requests.post(demo["token_endpoint"], timeout=TIMEOUT, data={
        "grant_type": "client_credentials",         # RFC 6749 §4.4.2
        "client_id": application["client_id"],
        "client_secret": application["client_secret"],
        "audience": audience,                        # the API the token is for (Auth0's parameter)
    })
    token = expect(response, 200, "the token request")
    show("Cache-Control", response.headers.get("Cache-Control"))  # RFC 6749 §5.1: no-store
    show("expires_in", token["expires_in"])

    step("verify the access token (RFC 9068) with the keys at /.well-known/jwks.json")
    claims = verified_claims(demo, token["access_token"], audience)
    show("client_id", claims["client_id"])

    step(f"GET {demo.whoami_url} with the token")
    whoami = expect(requests.get(demo.whoami_url, headers={"Authorization": f"Bearer {token['access_token']}"},
                                 timeout=TIMEOUT), 200, "the demo API")
    show("the demo API says client_id", whoami["client_id"])


if __name__ == "__main__":
    run(main)
