"""tls_client_auth (RFC 8705 §2.1): a token for a certificate issued by a CA the server trusts.

    .venv/bin/python examples/tls_client_auth.py [instance/demo/demo.json] [--edge-url URL] [--edge-ca FILE]

The application proves who it is in the TLS handshake with the nginx edge; no secret is sent.
The edge forwards the certificate to AppCreds (deploy/nginx/appcreds-edge.conf), which checks its
chain against APPCREDS_MTLS_CA_BUNDLE and its subject DN against the one registered.
"""
import requests
from cryptography import x509
from demo import TIMEOUT, argument_parser, expect, load_demo, run, show, step, verified_claims


def main():
    arguments = argument_parser(__doc__.splitlines()[0], edge=True).parse_args()
    demo = load_demo(arguments)
    application = demo["applications"]["tls_client_auth"]
    certificate = (demo.path(application["certificate"]), demo.path(application["private_key"]))

    parsed = x509.load_pem_x509_certificate(open(certificate[0], "rb").read())
    step("the client certificate, issued by the demo CA")
    show("subject", parsed.subject.rfc4514_string())  # the subject DN registered for this application
    show("issuer", parsed.issuer.rfc4514_string())

    token_endpoint = arguments.edge_url + "/oauth/token"
    step(f"POST {token_endpoint} over mutual TLS: client_id in the body, the certificate in the handshake")
    response = requests.post(token_endpoint, cert=certificate, verify=arguments.edge_ca, timeout=TIMEOUT, data={
        "grant_type": "client_credentials",
        "client_id": application["client_id"],  # RFC 8705 §2: the client_id says which application this is
        "audience": demo["demo_api"]["audience"],
    })
    token = expect(response, 200, "the token request over mutual TLS")

    step("verify the access token: it is bound to the certificate (RFC 8705 §3.1)")
    claims = verified_claims(demo, token["access_token"], demo["demo_api"]["audience"])
    show("client_id", claims["client_id"])
    show("cnf", claims.get("cnf"))


if __name__ == "__main__":
    run(main)
