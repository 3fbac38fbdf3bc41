"""Reading requests and shaping answers: JSON bodies and query strings through the schemas,
domain refusals turned into 400/409 that name the property, `fields` selection, pages."""
from contextlib import contextmanager

from flask import request
from pydantic import BaseModel, ValidationError

from blueprints.management_api.errors import ManagementApiError, bad_request
from models.errors import ApplicationError, DuplicateCredentialError


def read_body(model: type[BaseModel]) -> BaseModel:
    """The request body as `model`, or a 400 naming the first property that is wrong."""
    if request.mimetype != "application/json":
        raise bad_request("Payload validation error: send a JSON object with Content-Type: application/json")
    try:
        return model.model_validate_json(request.get_data() or b"")
    except ValidationError as error:
        raise bad_request(f"Payload validation error: {describe(error)}") from None


def read_query(model: type[BaseModel]) -> BaseModel:
    """The query string as `model` (strings coerced, ranges checked), or a 400 naming the parameter."""
    values = {name: request.args.get(name) for name in request.args}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise bad_request(f"Query validation error: {describe(error)}", "invalid_query_string") from None


def describe(error: ValidationError) -> str:
    """The first problem, in a sentence that names the property ("credentials[0].pem")."""
    problems = error.errors(include_url=False)
    # An unknown property explains the rest (a misspelt name is also a missing one): name it first.
    problem = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    where = _path(problem["loc"])
    if problem["type"] == "extra_forbidden":
        return f"Additional properties not allowed: '{where}'"
    if problem["type"] == "missing":
        return f"Missing required property: '{where}'"
    if problem["type"] in ("json_invalid", "json_type") or not where:
        return f"the body must be a JSON object ({problem['msg']})"
    return f"'{where}': {problem['msg']}"


def _path(location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@contextmanager
def about(prop: str):
    """Turn a refusal of the domain layer into a 400 (a duplicate: 409) whose message names `prop`."""
    try:
        yield
    except DuplicateCredentialError as error:
        raise ManagementApiError(409, f"{prop}: {error}", "credential_conflict") from None
    except ApplicationError as error:
        raise bad_request(f"{prop}: {error}") from None


def select_fields(document: dict, fields: str | None, include_fields: bool) -> dict:
    """Auth0's `fields` and `include_fields`: keep (or drop) the named properties."""
    if not fields:
        return document
    names = {name.strip() for name in fields.split(",") if name.strip()}
    return {key: value for key, value in document.items() if (key in names) == include_fields}


def page_of(items: list, query, name: str, total: int) -> dict | list:
    """A bare list, or with include_totals Auth0's {start, limit, length, total, <name>} object."""
    if not query.include_totals:
        return items
    return {"start": query.page * query.per_page, "limit": query.per_page, "length": len(items), "total": total,
            name: items}
