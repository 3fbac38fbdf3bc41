"""What every example shares: read demo.json, print each step, and stop with exit code 1 on failure.

demo.json is written by `flask --app app demo seed` (blueprints/cli/demo.py). It is the
application side of the demo: client ids, secrets and the paths of private keys (relative to
the folder demo.json is in). The server keeps none of the private keys.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import jwt
import requests

DEFAULT_DEMO_JSON = "instance/demo/demo.json"  # where `demo seed` writes it, under the repository
REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_EDGE_URL = "https://localhost:8443"
TIMEOUT = 10  # seconds for every HTTP request


class Demo(dict):
    """demo.json's content, plus `path()` for the files it names."""

    def __init__(self, demo_json: Path):
        super().__init__(json.loads(demo_json.read_text()))
        self.folder = demo_json.parent

    def path(self, relative: str) -> str:
        return str(self.folder / relative)

    @property
    def whoami_url(self) -> str:
        """The demo API's one endpoint: it answers with the claims of a valid access token."""
        return self["demo_api"]["audience"] + "whoami"


def argument_parser(description: str, edge: bool = False) -> argparse.ArgumentParser:
    """DEMO_JSON (default instance/demo/demo.json); with `edge`, where the nginx mTLS edge is."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("demo_json", nargs="?", default=REPOSITORY / DEFAULT_DEMO_JSON, type=Path,
                        help=f"written by `flask --app app demo seed` (default: {DEFAULT_DEMO_JSON})")
    if edge:
        parser.add_argument("--edge-url", default=os.environ.get("APPCREDS_EDGE_URL", DEFAULT_EDGE_URL),
                            help="the nginx edge (env APPCREDS_EDGE_URL; default: %(default)s)")
        parser.add_argument("--edge-ca", default=os.environ.get("APPCREDS_EDGE_CA"),
                            help="the CA that issued the edge's TLS certificate (env APPCREDS_EDGE_CA; "
                                 "default: the demo CA, which issued the seeded edge certificate)")
    return parser


def load_demo(arguments) -> Demo:
    if not arguments.demo_json.exists():
        raise ExampleFailed(f"{arguments.demo_json} does not exist: run `flask --app app demo seed` first")
    demo = Demo(arguments.demo_json)
    if getattr(arguments, "edge_ca", "unused") is None:
        arguments.edge_ca = demo.path(demo["mtls"]["ca_certificate"])
    return demo


class ExampleFailed(Exception):
    """A step did not give what it should; the example stops with exit code 1."""


def step(text: str) -> None:
    print(f"\n==> {text}")


def show(label: str, value) -> None:
    print(f"    {label}: {value}")


def expect(response: requests.Response, status: int, what: str) -> dict:
    """The JSON body of a response with this status; anything else stops the example."""
    if response.status_code != status:
        raise ExampleFailed(f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else {}


def verified_claims(demo: Demo, access_token: str, audience: str) -> dict:
    """Verify an access token (RFC 9068) as a resource server does: with the server's published keys."""
    jwks = jwt.PyJWKClient(demo["issuer"] + ".well-known/jwks.json")
    signing_key = jwks.get_signing_key_from_jwt(access_token)
    return jwt.decode(access_token, signing_key, algorithms=[signing_key.algorithm_name], audience=audience,
                      issuer=demo["issuer"])


def run(main) -> None:
    """Run main(); print OK, or FAILED and the reason with exit code 1."""
    try:
        main()
    except Exception as problem:  # ours, or a library's (requests, PyJWT, Authlib's OAuthError)
        print(f"\nFAILED: {type(problem).__name__}: {problem}", file=sys.stderr)
        sys.exit(1)
    print("\nOK")
