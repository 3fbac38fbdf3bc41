"""private_key_jwt (RFC 7523 §2.2, §3): a token with a client assertion signed by the application's key,
then a key rotation with no downtime.

    .venv/bin/python examples/private_key_jwt.py [instance/demo/demo.json]

The private key never leaves the application: AppCreds holds only the public key, and each
assertion is short-lived and used once (its `jti`), so a copied one is worth little.
"""
import time
import uuid
from pathlib import Path

import jwt
import requests
from demo import TIMEOUT, argument_parser, expect, load_demo, run, show, step, verified_claims

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
LIFETIME = 60  # seconds; AppCreds (like Auth0) accepts at most 300 between iat and exp


def make_client_assertion(client_id: str, issuer: str, private_key_pem: str, kid: str, alg: str) -> str:
    """A client assertion (RFC 7523 §3), signed with the application's private key."""
    now = int(time.time())
    claims = {
        "iss": client_id,          # §3: the application itself issues it ...
        "sub": client_id,          # ... about itself
        "aud": issuer,             # §3: the authorization server: its issuer, exactly, trailing slash included
        "jti": str(uuid.uuid4()),  # §3: unique; AppCreds refuses a jti it has seen (replay)
        "iat": now,
        "exp": now + LIFETIME,     # short-lived: a leaked assertion expires soon
    }
    # The kid says which registered key verifies it (one of two during a rotation).
    return jwt.encode(claims, private_key_pem, algorithm=alg, headers={"kid": kid})


def request_token(demo, client_id: str, assertion: str) -> requests.Response:
    return requests.post(demo["token_endpoint"], timeout=TIMEOUT, data={
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,  # no client_secret anywhere; sub names the application
        "audience": demo["demo_api"]["audience"],
    })


def main():
    demo = load_demo(argument_parser(__doc__.splitlines()[0]).parse_args())
    application = demo["applications"]["private_key_jwt"]
    client_id = application["client_id"]
    first_key, second_key = application["keys"]

    step(f"sign a client assertion with the first key (kid {first_key['kid'][:12]}...), alg {first_key['alg']}")
    assertion = make_client_assertion(client_id, demo["issuer"], Path(demo.path(first_key["private_key"])).read_text(),
                                      first_key["kid"], first_key["alg"])
    show("header", jwt.get_unverified_header(assertion))
    show("claims", jwt.decode(assertion, options={"verify_signature": False}))

    step(f"POST {demo['token_endpoint']} with client_assertion_type and client_assertion")
    token = expect(request_token(demo, client_id, assertion), 200, "the token request with the first key")
    claims = verified_claims(demo, token["access_token"], demo["demo_api"]["audience"])
    show("access token for client_id", claims["client_id"])

    step("send the same assertion again: refused, its jti was used (RFC 7523 §3)")
    replay = expect(request_token(demo, client_id, assertion), 401, "the replayed assertion")
    show("error", replay["error"])  # invalid_client; the precise reason is in the application's Logs tab

    # Rotation with no downtime. An application holds at most two keys at once, so:
    #   1. add the new key:    flask --app app credentials add CLIENT_ID --use private_key_jwt --pem new.pub.pem
    #   2. switch signing:     the application signs with the new private key (this step);
    #   3. delete the old one: flask --app app credentials delete CLIENT_ID CREDENTIAL_ID
    # The demo seed did step 1 already; step 3 is left out so this example can run again.
    step(f"rotation: sign with the second key (kid {second_key['kid'][:12]}...) while both are registered")
    assertion = make_client_assertion(client_id, demo["issuer"],
                                      Path(demo.path(second_key["private_key"])).read_text(),
                                      second_key["kid"], second_key["alg"])
    token = expect(request_token(demo, client_id, assertion), 200, "the token request with the second key")
    show("access token for client_id", verified_claims(demo, token["access_token"],
                                                       demo["demo_api"]["audience"])["client_id"])
    print("    both keys work: now delete the first one (credentials delete), and only the second key works")


if __name__ == "__main__":
    run(main)
