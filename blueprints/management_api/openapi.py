"""GET /api/v2/openapi.json: the OpenAPI 3.1 document, built from the very models the API validates with.

Bodies and query parameters come from schemas.py (pydantic's JSON Schema, draft 2020-12, which
OpenAPI 3.1 uses as is); the scope each operation needs is read from its view's `require_scope`.
So the document cannot say one thing while the API does another.
"""
from flask import current_app, url_for
from pydantic.json_schema import models_json_schema

from blueprints.management_api import schemas
from blueprints.management_api.api import bp
from blueprints.management_api.documents import LOG_TYPES
from models.apis import MANAGEMENT_SCOPES

REF = "#/components/schemas/{model}"
ERROR = {"description": "Error, in Auth0's shape", "content": {"application/json": {"schema": {
    "$ref": REF.format(model="Error")}}}}
CLIENT_ID = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
CREDENTIAL_ID = {"name": "credential_id", "in": "path", "required": True,
                 "schema": {"type": "string", "maxLength": 200}}
GRANT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
LOG_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}

# (method, path, view endpoint, tag, summary, path parameters, query model, body model,
#  success status, response model or "list:Model" / "page:Model:PageModel", extra error statuses)
OPERATIONS = [
    ("get", "/clients", "list_clients", "Clients", "List applications", [], schemas.ClientListQuery, None,
     200, "page:Client:ClientPage", []),
    ("post", "/clients", "create_client", "Clients", "Create an application", [], None, schemas.ClientCreate,
     201, "Client", [409, 413]),
    ("get", "/clients/{client_id}", "get_client", "Clients", "Get an application", [CLIENT_ID],
     schemas.FieldsQuery, None, 200, "Client", [404]),
    ("patch", "/clients/{client_id}", "update_client", "Clients", "Update an application", [CLIENT_ID], None,
     schemas.ClientUpdate, 200, "Client", [404, 409, 413]),
    ("delete", "/clients/{client_id}", "delete_client", "Clients", "Delete an application", [CLIENT_ID], None,
     None, 204, None, [404]),
    ("post", "/clients/{client_id}/rotate-secret", "rotate_client_secret", "Clients",
     "Rotate an application's secret", [CLIENT_ID], None, None, 200, "Client", [404]),
    ("get", "/clients/{client_id}/credentials", "list_client_credentials", "Credentials",
     "List an application's credentials", [CLIENT_ID], None, None, 200, "list:Credential", [404]),
    ("post", "/clients/{client_id}/credentials", "create_client_credential", "Credentials",
     "Register a credential (enabled once the application references it)", [CLIENT_ID], None,
     schemas.CredentialCreate, 201, "Credential", [404, 409, 413]),
    ("get", "/clients/{client_id}/credentials/{credential_id}", "get_client_credential", "Credentials",
     "Get a credential", [CLIENT_ID, CREDENTIAL_ID], None, None, 200, "Credential", [404]),
    ("patch", "/clients/{client_id}/credentials/{credential_id}", "update_client_credential", "Credentials",
     "Change a credential's expiry", [CLIENT_ID, CREDENTIAL_ID], None, schemas.CredentialUpdate, 200,
     "Credential", [404, 413]),
    ("delete", "/clients/{client_id}/credentials/{credential_id}", "delete_client_credential", "Credentials",
     "Delete a credential", [CLIENT_ID, CREDENTIAL_ID], None, None, 204, None, [404]),
    ("get", "/client-grants", "list_client_grants", "Client grants", "List API grants", [],
     schemas.ClientGrantListQuery, None, 200, "page:ClientGrant:ClientGrantPage", []),
    ("post", "/client-grants", "create_client_grant", "Client grants", "Grant an application an API", [], None,
     schemas.ClientGrantCreate, 201, "ClientGrant", [404, 409, 413]),
    ("get", "/client-grants/{id}", "get_client_grant", "Client grants", "Get an API grant", [GRANT_ID], None,
     None, 200, "ClientGrant", [404]),
    ("patch", "/client-grants/{id}", "update_client_grant", "Client grants", "Change a grant's scopes",
     [GRANT_ID], None, schemas.ClientGrantUpdate, 200, "ClientGrant", [404, 413]),
    ("delete", "/client-grants/{id}", "delete_client_grant", "Client grants", "Revoke an API grant", [GRANT_ID],
     None, None, 204, None, [404]),
    ("get", "/logs", "list_logs", "Logs", "Search the event log", [], schemas.LogListQuery, None, 200,
     "page:Log:LogPage", []),
    ("get", "/logs/{id}", "get_log", "Logs", "Get a log record", [LOG_ID], None, None, 200, "Log", [404]),
]
MODELS = [schemas.ClientCreate, schemas.ClientUpdate, schemas.CredentialCreate, schemas.CredentialUpdate,
          schemas.ClientGrantCreate, schemas.ClientGrantUpdate, schemas.Client, schemas.ClientPage,
          schemas.Credential, schemas.ClientGrant, schemas.ClientGrantPage, schemas.Log, schemas.LogPage,
          schemas.Error]
# Answers that `fields`/`include_fields` can trim (Auth0: any property may be left out).
SELECTABLE = [schemas.Client, schemas.Log]


@bp.get("/openapi.json")
def openapi_document():
    """The document; public, like Auth0's."""
    return build_document()


def build_document() -> dict:
    issuer = current_app.config["APPCREDS_ISSUER"]
    modes = [(model, "validation" if model.__name__.endswith(("Create", "Update")) else "serialization")
             for model in MODELS]
    _, definitions = models_json_schema(modes, ref_template=REF)
    for model in SELECTABLE:  # `fields` may leave any property out of these answers
        definitions["$defs"][model.__name__].pop("required", None)
    paths: dict = {}
    for operation in OPERATIONS:
        method, path = operation[0], operation[1]
        paths.setdefault(path, {})[method] = describe_operation(*operation[2:])
    log_types = "\n".join(f"- `{code}`: {meaning}" for code, meaning in LOG_TYPES.items())
    return {
        "openapi": "3.1.0",
        "info": {"title": "AppCreds Management API", "version": "2",
                 "description": "Auth0-shaped Management API v2 for applications, credentials, API grants and "
                                "logs. Get an access token from the token endpoint with "
                                f"`audience={issuer}api/v2/` (client credentials), then send "
                                "`Authorization: Bearer <token>`.\n\nLog types:\n" + log_types},
        "servers": [{"url": url_for("management_api.openapi_document").removesuffix("/openapi.json")}],
        "security": [{"oauth2": []}],
        "tags": [{"name": name} for name in ("Clients", "Credentials", "Client grants", "Logs")],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": issuer + "oauth/token", "scopes": MANAGEMENT_SCOPES}}}},
        },
    }


def describe_operation(endpoint, tag, summary, path_parameters, query_model, body_model, status, response,
                       extra_errors) -> dict:
    view = current_app.view_functions[f"management_api.{endpoint}"]
    scopes = list(getattr(view, "required_scopes", ()))
    operation = {"operationId": endpoint, "tags": [tag], "summary": summary,
                 "description": f"Scope: `{' '.join(scopes)}`.", "security": [{"oauth2": scopes}],
                 "parameters": path_parameters + query_parameters(query_model), "responses": {}}
    if body_model is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "$ref": REF.format(model=body_model.__name__)}}}}
    operation["responses"][str(status)] = success_response(status, response)
    for code in (400, 401, 403, *extra_errors):
        operation["responses"][str(code)] = ERROR
    return operation


def success_response(status: int, response: str | None) -> dict:
    if response is None:
        return {"description": "Done; no content"}
    if response.startswith("list:"):
        schema = {"type": "array", "items": {"$ref": REF.format(model=response[5:])}}
    elif response.startswith("page:"):
        _, item, page = response.split(":")
        schema = {"oneOf": [{"type": "array", "items": {"$ref": REF.format(model=item)}},
                            {"$ref": REF.format(model=page)}],
                  "description": "a bare array; with include_totals=true (or take), the paged object"}
    else:
        schema = {"$ref": REF.format(model=response)}
    return {"description": "Success", "content": {"application/json": {"schema": schema}}}


def query_parameters(model) -> list[dict]:
    if model is None:
        return []
    properties = model.model_json_schema()["properties"]
    parameters = []
    for name, field in model.model_fields.items():
        wire = field.alias or name
        schema = dict(properties[wire])
        description = schema.pop("description", None)
        schema.pop("title", None)
        parameter = {"name": wire, "in": "query", "required": False, "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters
