"""The vocabulary: every client-authentication method, credential use and application type, by name.

Every other module imports these names from here; none spells a method or a use as a string.

- Methods are RFC 7591 §2 `token_endpoint_auth_method` values (Auth0 uses the same names).
  An application has exactly one at a time.
- Credential uses say what a registered credential is for: one per method that needs one, and
  `jar` for signed authorization requests (RFC 9101), kept apart from Private Key JWT keys.
- Credential types are Auth0's `credential_type` names.
"""

# --- client-authentication methods (RFC 7591 §2) -----------------------------------------------
CLIENT_SECRET_BASIC = "client_secret_basic"   # RFC 6749 §2.3.1, HTTP Basic
CLIENT_SECRET_POST = "client_secret_post"     # RFC 6749 §2.3.1, in the body
PRIVATE_KEY_JWT = "private_key_jwt"           # RFC 7523 §2.2
TLS_CLIENT_AUTH = "tls_client_auth"           # RFC 8705 §2.1, a CA-issued certificate, by subject DN
SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"  # RFC 8705 §2.2, by certificate thumbprint
NONE = "none"                                 # RFC 6749 §2.1, a public client

SECRET_METHODS = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST)
MTLS_METHODS = (TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH)
# Methods that need a registered credential (a key, a certificate or a subject DN).
CREDENTIAL_METHODS = (PRIVATE_KEY_JWT, *MTLS_METHODS)
# In the order the dashboard shows them.
AUTH_METHODS = (*SECRET_METHODS, PRIVATE_KEY_JWT, *MTLS_METHODS, NONE)
# RFC 6749 §2.1: clients that can keep a credential. Only they may use client_credentials (§4.4),
# introspection, or call the Management API.
CONFIDENTIAL_METHODS = (*SECRET_METHODS, *CREDENTIAL_METHODS)
# The authorization-code and refresh grants, PAR and revocation also take public clients (PKCE).
USER_FLOW_METHODS = (*CONFIDENTIAL_METHODS, NONE)
# A new application starts with a secret or none; it registers credentials before switching to them.
CREATE_METHODS = (*SECRET_METHODS, NONE)

# --- credential uses and types --------------------------------------------------------------------
JAR = "jar"  # RFC 9101 signed authorization requests (Auth0: signed_request_object)

PUBLIC_KEY, X509_CERT, CERT_SUBJECT_DN = "public_key", "x509_cert", "cert_subject_dn"
CREDENTIAL_TYPES = (PUBLIC_KEY, X509_CERT, CERT_SUBJECT_DN)
# What a credential is registered for, and the credential type each use takes.
USES = {
    PRIVATE_KEY_JWT: PUBLIC_KEY,
    JAR: PUBLIC_KEY,
    SELF_SIGNED_TLS_CLIENT_AUTH: X509_CERT,
    TLS_CLIENT_AUTH: CERT_SUBJECT_DN,
}
PUBLIC_KEY_USES = tuple(use for use, kind in USES.items() if kind == PUBLIC_KEY)
MAX_CREDENTIALS_PER_USE = 2  # two at once: rotate with no downtime (Auth0's limit)
# RFC 7518 §3.3, §3.5: the RSA algorithms a public key may be registered for (Auth0's list).
KEY_ALGORITHMS = ("RS256", "RS384", "PS256")

# --- applications ---------------------------------------------------------------------------------
# Auth0's application types, with their names in the dashboard.
MACHINE_TO_MACHINE = "non_interactive"
APP_TYPES = {
    "regular_web": "Regular web application",
    "spa": "Single-page application",
    "native": "Native application",
    MACHINE_TO_MACHINE: "Machine to machine",
}
CLIENT_CREDENTIALS, AUTHORIZATION_CODE, REFRESH_TOKEN = "client_credentials", "authorization_code", "refresh_token"
GRANT_TYPES = (CLIENT_CREDENTIALS, AUTHORIZATION_CODE, REFRESH_TOKEN)
# What a new application can do when its creator names no grant types (Auth0's defaults by type):
# the authorization-code flow with refresh tokens for the interactive types, client credentials
# for a machine-to-machine application (and for a regular web application, which has a back end).
DEFAULT_GRANT_TYPES = {
    "regular_web": (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS),
    "spa": (AUTHORIZATION_CODE, REFRESH_TOKEN),
    "native": (AUTHORIZATION_CODE, REFRESH_TOKEN),
    MACHINE_TO_MACHINE: (CLIENT_CREDENTIALS,),
}
