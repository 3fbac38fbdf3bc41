"""RFC 7523 §2.2 and §3: private_key_jwt client authentication (work in progress: issue 3).

For now only the mechanism is recognised, so that an assertion sent by an application
registered for another method is refused as such.
"""
from blueprints.oauth.client_auth import Mechanism

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion_client_id(request):
    if "client_assertion" not in request.form and "client_assertion_type" not in request.form:
        return None
    return request.form.get("client_id") or ""


MECHANISMS = [Mechanism("private_key_jwt", ("private_key_jwt",), _assertion_client_id)]
HOOKS = {}
