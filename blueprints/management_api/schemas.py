"""What the Management API accepts and answers, as pydantic models: the one source of its rules.

Requests are validated with these models (strict types, unknown properties refused, Auth0's
ranges and lengths), and openapi.py builds `/api/v2/openapi.json` from the same models, so the
document cannot drift from what the API enforces. Field names, enums and limits follow Auth0's
Management API v2 (CreateClientRequestContent, PostClientCredentialRequestContent, ...).
"""
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from models.apis import MANAGEMENT_SCOPES
from models.applications import PAR_EXPIRY_RANGE
from models.auth_methods import APP_TYPES, CREDENTIAL_TYPES, GRANT_TYPES, KEY_ALGORITHMS, SECRET_METHODS
from models.credential_uploads import MAX_SUBJECT_DN_CHARS

AppType = Literal[tuple(APP_TYPES)]
GrantType = Literal[GRANT_TYPES]
SecretOrNone = Literal[(*SECRET_METHODS, "none")]
KeyAlgorithm = Literal[KEY_ALGORITHMS]
CredentialType = Literal[CREDENTIAL_TYPES]
ManagementScope = Literal[tuple(MANAGEMENT_SCOPES)]

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
CredentialName = Annotated[str, StringConstraints(max_length=128)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Pem = Annotated[str, StringConstraints(min_length=1, max_length=16384)]
CertificatePem = Annotated[str, StringConstraints(min_length=1, max_length=4096)]  # Auth0's limit
SubjectDn = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_DN_CHARS)]
Kid = Annotated[str, StringConstraints(pattern=r"^[0-9a-zA-Z_-]{10,64}$")]
CredentialId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Audience = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=280)]
ParExpiry = Annotated[int, Field(ge=PAR_EXPIRY_RANGE[0], le=PAR_EXPIRY_RANGE[1])]


class Body(BaseModel):
    """A JSON object with exactly the listed properties, each of exactly its type."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- credentials ------------------------------------------------------------------------------

class CredentialCreate(Body):
    """POST /clients/{id}/credentials (Auth0's PostClientCredentialRequestContent)."""

    credential_type: CredentialType
    name: CredentialName | None = None
    subject_dn: SubjectDn | None = Field(None, description="cert_subject_dn only; mutually exclusive with pem")
    pem: Pem | None = Field(None, description="public_key: a PEM public key or X.509 certificate; x509_cert and "
                                              "cert_subject_dn: a PEM certificate (at most 4096 characters)")
    alg: KeyAlgorithm | None = Field(None, description="public_key only; default RS256")
    parse_expiry_from_cert: bool | None = Field(None, description="public_key only: expires_at from the certificate")
    expires_at: datetime | None = None
    kid: Kid | None = Field(None, description="public_key only; default: the RFC 7638 thumbprint of the key")


class PublicKeyCredentialCreate(Body):
    credential_type: Literal["public_key"]
    name: CredentialName | None = None
    pem: Pem
    alg: KeyAlgorithm | None = None
    parse_expiry_from_cert: bool | None = None
    expires_at: datetime | None = None
    kid: Kid | None = None


class CertificateCredentialCreate(Body):
    credential_type: Literal["x509_cert"]
    name: CredentialName | None = None
    pem: CertificatePem


class SubjectDnCredentialCreate(Body):
    credential_type: Literal["cert_subject_dn"]
    name: CredentialName | None = None
    subject_dn: SubjectDn | None = None
    pem: CertificatePem | None = None


class CredentialUpdate(Body):
    """PATCH /clients/{id}/credentials/{credential_id}: only the expiry can change."""

    expires_at: datetime | None


class Credential(BaseModel):
    """A credential as the API shows it: public material only, never a private key or a secret."""

    id: str
    name: str
    credential_type: CredentialType
    use: str | None = Field(None, description="what the credential is for; null until a method references it")
    kid: str | None = None
    alg: KeyAlgorithm | None = None
    subject_dn: str | None = None
    thumbprint_sha256: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None


# --- applications -----------------------------------------------------------------------------

class CredentialReference(Body):
    id: CredentialId


class OneMethod(Body):
    """Exactly one of the three credential methods (Auth0: minProperties 1, maxProperties 1)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    @model_validator(mode="after")
    def exactly_one_method(self):
        if sum(getattr(self, name) is not None for name in type(self).model_fields) != 1:
            raise ValueError("exactly one of private_key_jwt, tls_client_auth, self_signed_tls_client_auth "
                             "is required")
        return self


class PublicKeyCredentials(Body):
    credentials: Annotated[list[PublicKeyCredentialCreate], Field(min_length=1, max_length=2)]


class CertificateCredentials(Body):
    credentials: Annotated[list[CertificateCredentialCreate], Field(min_length=1, max_length=2)]


class SubjectDnCredentials(Body):
    credentials: Annotated[list[SubjectDnCredentialCreate], Field(min_length=1, max_length=2)]


class CredentialReferences(Body):
    credentials: Annotated[list[CredentialReference], Field(min_length=1, max_length=2)]


class AuthenticationMethodsCreate(OneMethod):
    """The method's credentials defined inline (Auth0's ClientCreateAuthenticationMethod)."""

    private_key_jwt: PublicKeyCredentials | None = None
    tls_client_auth: SubjectDnCredentials | None = None
    self_signed_tls_client_auth: CertificateCredentials | None = None


class AuthenticationMethodsUpdate(OneMethod):
    """The method's credentials named by id, registered before (`[{"id": "cred_..."}]`)."""

    private_key_jwt: CredentialReferences | None = None
    tls_client_auth: CredentialReferences | None = None
    self_signed_tls_client_auth: CredentialReferences | None = None


class SignedRequestObjectCreate(Body):
    required: bool | None = None
    credentials: Annotated[list[PublicKeyCredentialCreate], Field(max_length=2)] | None = None


class SignedRequestObjectUpdate(Body):
    required: bool | None = None
    credentials: Annotated[list[CredentialReference], Field(max_length=2)] | None = None


class JwtConfiguration(Body):
    """Auth0 requires alg RS256 before client_authentication_methods. It is the ID-token algorithm, and AppCreds
    issues no ID tokens, so RS256 is the only value (access tokens follow APPCREDS_ACCESS_TOKEN_ALG)."""

    alg: Literal["RS256"]


# Not an Auth0 property: documented as AppCreds' own wherever it appears.
REQUIRE_PKCE_DESCRIPTION = (
    "AppCreds extension, not an Auth0 property. true (the default): every authorization request must carry an "
    "S256 code_challenge (PKCE, RFC 7636). false lets a confidential application leave it out, which exposes "
    "it to authorization-code injection (RFC 9700 §2.1.1); public applications (none) always need PKCE.")


class ClientSettings(Body):
    """The properties create and update share."""

    jwt_configuration: JwtConfiguration | None = None
    description: Description | None = None
    app_type: AppType | None = None
    callbacks: Annotated[list[Url], Field(max_length=50)] | None = None
    grant_types: Annotated[list[GrantType], Field(max_length=len(GRANT_TYPES))] | None = None
    token_endpoint_auth_method: SecretOrNone | None = None
    require_pushed_authorization_requests: bool | None = None
    par_request_expiry: ParExpiry | None = Field(None, description="seconds; null: the default, 60")
    require_proof_of_possession: bool | None = None
    require_pkce: bool | None = Field(None, description=REQUIRE_PKCE_DESCRIPTION)


class ClientCreate(ClientSettings):
    """POST /clients (Auth0's CreateClientRequestContent, the properties AppCreds implements)."""

    name: Name
    client_authentication_methods: AuthenticationMethodsCreate | None = None
    signed_request_object: SignedRequestObjectCreate | None = None


class ClientUpdate(ClientSettings):
    """PATCH /clients/{id}: every property optional; the ones sent are changed, all or none."""

    name: Name | None = None
    client_authentication_methods: AuthenticationMethodsUpdate | None = None
    signed_request_object: SignedRequestObjectUpdate | None = None


class MethodCredentials(BaseModel):
    credentials: list[CredentialReference]


class AuthenticationMethods(BaseModel):
    private_key_jwt: MethodCredentials | None = None
    tls_client_auth: MethodCredentials | None = None
    self_signed_tls_client_auth: MethodCredentials | None = None


class SignedRequestObject(BaseModel):
    required: bool
    credentials: list[CredentialReference]


class Client(BaseModel):
    """An application. `client_secret` only to a caller with read:client_keys, and only when it has one."""

    client_id: str
    name: str
    description: str
    app_type: AppType
    callbacks: list[str]
    grant_types: list[GrantType]
    token_endpoint_auth_method: SecretOrNone | None = Field(
        description="null while a credential method (client_authentication_methods) is in force")
    client_authentication_methods: AuthenticationMethods | None
    signed_request_object: SignedRequestObject
    require_pushed_authorization_requests: bool
    par_request_expiry: int
    require_proof_of_possession: bool
    require_pkce: bool = Field(description=REQUIRE_PKCE_DESCRIPTION)
    jwt_configuration: dict
    client_secret: str | None = None


class ClientPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    clients: list[Client]


# --- client grants ----------------------------------------------------------------------------

class ClientGrantCreate(Body):
    client_id: ClientId
    audience: Audience
    scope: Annotated[list[Scope], Field(max_length=100)] = []


class ClientGrantUpdate(Body):
    scope: Annotated[list[Scope], Field(max_length=100)]


class ClientGrant(BaseModel):
    id: str
    client_id: str
    audience: str
    scope: list[str]


class ClientGrantPage(BaseModel):
    client_grants: list[ClientGrant]
    start: int | None = None
    limit: int | None = None
    total: int | None = None
    next: str | None = None


# --- logs -------------------------------------------------------------------------------------

class Log(BaseModel):
    log_id: str
    date: datetime
    type: str = Field(description="Auth0's short code: see the Logs tag")
    description: str
    client_id: str | None
    client_name: str | None
    ip: str | None
    details: dict


class LogPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    logs: list[Log]


# --- query strings ----------------------------------------------------------------------------

class Query(BaseModel):
    """Query parameters arrive as strings; these say what each may be (coerced, then range-checked)."""

    model_config = ConfigDict(extra="ignore")


Page = Annotated[int, Field(ge=0, le=100_000)]
PerPage = Annotated[int, Field(ge=1, le=100)]
Fields = Annotated[str, StringConstraints(max_length=1000)]


class ListQuery(Query):
    page: Page = 0
    per_page: PerPage = 50
    include_totals: bool = False
    fields: Fields | None = Field(None, description="comma-separated property names")
    include_fields: bool = True


class ClientListQuery(ListQuery):
    app_type: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="comma-separated application types")


class FieldsQuery(Query):
    fields: Fields | None = None
    include_fields: bool = True


class ClientGrantListQuery(ListQuery):
    client_id: ClientId | None = None
    audience: Audience | None = None
    from_: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, alias="from", description="checkpoint paging: the id after which to continue")
    take: Annotated[int, Field(ge=1, le=100)] | None = None


class LogListQuery(ListQuery):
    q: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="simple filters joined by AND: type:feccft client_id:abc")
    search: Annotated[str, StringConstraints(max_length=1000)] | None = Field(None, description="the same as q")
    client_id: ClientId | None = None
    type: Annotated[str, StringConstraints(max_length=20)] | None = None
    sort: Literal["date:-1", "date:1"] = "date:-1"
    from_: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, alias="from", description="checkpoint paging: logs older than this log_id")
    take: Annotated[int, Field(ge=1, le=100)] | None = None


class Error(BaseModel):
    """Every error, in Auth0's shape."""

    statusCode: int  # noqa: N815 - Auth0's names
    error: str
    message: str
    errorCode: str | None = None  # noqa: N815
