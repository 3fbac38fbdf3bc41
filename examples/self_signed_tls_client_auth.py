"""self_signed_tls_client_auth (RFC 8705 §2.2): a token for a self-signed certificate registered in advance.

    .venv/bin/python examples/self_signed_tls_client_auth.py [instance/demo/demo.json] [--edge-url URL] [--edge-ca FILE]

No CA is involved: AppCreds recognises the certificate by its SHA-256 thumbprint, compared with
the certificates registered for the application. The nginx edge asks for it in the TLS handshake
and forwards it (deploy/nginx/appcreds-edge.conf).
"""
import base64
import hashlib

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from demo import TIMEOUT, ExampleFailed, argument_parser, expect, load_demo, run, show, step, verified_claims


def main():
    arguments = argument_parser(__doc__.splitlines()[0], edge=True).parse_args()
    demo = load_demo(arguments)
    application = demo["applications"]["self_signed_tls_client_auth"]
    certificate = (demo.path(application["certificate"]), demo.path(application["private_key"]))

    step("the self-signed client certificate and its thumbprint (what AppCreds compares)")
    parsed = x509.load_pem_x509_certificate(open(certificate[0], "rb").read())
    der = parsed.public_bytes(serialization.Encoding.DER)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    show("subject = issuer", parsed.subject.rfc4514_string())
    show("x5t#S256", thumbprint)

    token_endpoint = arguments.edge_url + "/oauth/token"
    step(f"POST {token_endpoint} over mutual TLS with the self-signed certificate")
    response = requests.post(token_endpoint, cert=certificate, verify=arguments.edge_ca, timeout=TIMEOUT, data={
        "grant_type": "client_credentials",
        "client_id": application["client_id"],
        "audience": demo["demo_api"]["audience"],
    })
    token = expect(response, 200, "the token request over mutual TLS")

    step("verify the access token: its cnf names this certificate (RFC 8705 §3.1)")
    claims = verified_claims(demo, token["access_token"], demo["demo_api"]["audience"])
    show("client_id", claims["client_id"])
    show("cnf", claims.get("cnf"))
    if claims.get("cnf", {}).get("x5t#S256") != thumbprint:
        raise ExampleFailed("the token is not bound to this certificate")
    print("    the token is bound to this certificate")


if __name__ == "__main__":
    run(main)
