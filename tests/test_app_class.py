"""AppCredsFlask (app.py): Flask's answer to "is this a coroutine function?" asked once per function;
AppCredsResponse: a body in memory handed to the server as one list."""
from pathlib import Path


def test_a_sync_function_is_handed_back_and_remembered(app):
    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    assert view in app._known_sync
    assert app.ensure_sync(view) is view



def run_wsgi(app, path, method="GET"):
    """The application as a WSGI server calls it: the status, and the body iterable it returns."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1:5000/").get_environ()
    statuses = []
    body = app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return statuses[0], body


def test_a_body_in_memory_goes_to_the_server_as_one_list(app):
    status, body = run_wsgi(app, "/.well-known/oauth-authorization-server")
    assert status.startswith("200")
    assert type(body) is list and len(body) == 1
    assert b'"token_endpoint"' in body[0]


def test_a_refusal_and_a_head_request_are_lists_too(app):
    status, body = run_wsgi(app, "/oauth/token", method="POST")
    assert status.startswith("400") and type(body) is list and b"invalid_request" in body[0]
    status, body = run_wsgi(app, "/.well-known/oauth-authorization-server", method="HEAD")
    assert status.startswith("200") and body == [b""]


def test_a_static_file_is_passed_on_as_a_stream(app):
    status, body = run_wsgi(app, "/static/app.css")
    try:
        assert status.startswith("200")
        assert type(body) is not list  # a file wrapper: the server may stream it or use sendfile
        assert b"".join(body) == Path(app.static_folder, "app.css").read_bytes()
    finally:
        body.close()
