"""Certificate-bound access tokens (RFC 8705 §3): a stolen token is useless without the private key.

    .venv/bin/python examples/certificate_bound_token.py [instance/demo/demo.json] [--edge-url URL] [--edge-ca FILE]

A token issued over mutual TLS carries the certificate's thumbprint (`cnf.x5t#S256`). The demo
API, behind the same nginx edge, accepts it only from a caller presenting that certificate.
"""
import requests
from demo import TIMEOUT, ExampleFailed, argument_parser, expect, load_demo, run, show, step


def main():
    arguments = argument_parser(__doc__.splitlines()[0], edge=True).parse_args()
    demo = load_demo(arguments)
    application = demo["applications"]["self_signed_tls_client_auth"]
    certificate = (demo.path(application["certificate"]), demo.path(application["private_key"]))

    step("a token over mutual TLS (self_signed_tls_client_auth)")
    token = expect(requests.post(arguments.edge_url + "/oauth/token", cert=certificate, verify=arguments.edge_ca,
                                 timeout=TIMEOUT, data={"grant_type": "client_credentials",
                                                        "client_id": application["client_id"],
                                                        "audience": demo["demo_api"]["audience"]}),
                   200, "the token request")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    whoami = arguments.edge_url + "/api/demo/whoami"

    step(f"GET {whoami} with the token and the same certificate: accepted (RFC 8705 §3.2)")
    claims = expect(requests.get(whoami, headers=bearer, cert=certificate, verify=arguments.edge_ca,
                                 timeout=TIMEOUT), 200, "the bound token with its certificate")
    show("cnf", claims.get("cnf"))

    step(f"GET {whoami} with the token but no certificate, as a thief would: refused")
    refused = requests.get(whoami, headers=bearer, verify=arguments.edge_ca, timeout=TIMEOUT)
    if refused.status_code != 401:
        raise ExampleFailed(f"a bound token without its certificate got HTTP {refused.status_code}")
    show("HTTP", refused.status_code)
    show("WWW-Authenticate", refused.headers.get("WWW-Authenticate"))  # RFC 6750 §3: error="invalid_token"
    print("    refused without the certificate, as RFC 8705 §3 requires")


if __name__ == "__main__":
    run(main)
