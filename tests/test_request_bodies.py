"""AppCredsRequest (blueprints/request_bodies.py) parses a form body exactly as Werkzeug does."""
import io

import pytest
from flask import Request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from blueprints.request_bodies import FORM, AppCredsRequest


def parsed(request_class, body: bytes, content_type: str = FORM, max_content_length=None):
    environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
    environ["wsgi.input"] = io.BytesIO(body)
    request = request_class(environ)
    request.max_content_length = max_content_length
    return request.form.lists(), request.files.lists()


def both(body: bytes, **options):
    return ([list(x) for x in parsed(AppCredsRequest, body, **options)],
            [list(x) for x in parsed(Request, body, **options)])


# Bodies built from the characters that matter to the parser: separators, escapes (good and broken),
# plus signs, non-ASCII text and bytes that are not UTF-8.
PIECES = st.sampled_from(["a", "b", "=", "&", ";", "+", "%", "%2", "%20", "%26", "%3D", "%C3%A9", "%FF", "é", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join).map(str.encode) | st.binary(max_size=40))
def test_any_form_body_parses_as_werkzeug_parses_it(body):
    ours, werkzeugs = both(body)
    assert ours == werkzeugs


@pytest.mark.parametrize("body", [b"grant_type=client_credentials&scope=a+b&scope=c", b"", b"x", b"\xff\xfe=1"])
def test_examples(body):
    ours, werkzeugs = both(body)
    assert ours == werkzeugs


def test_other_content_types_are_werkzeugs():
    body = b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--\r\n"
    ours, werkzeugs = both(body, content_type="multipart/form-data; boundary=B")
    assert ours == werkzeugs == [[("a", ["1"])], []]


def test_a_body_over_the_limit_is_refused_before_it_is_read():
    with pytest.raises(RequestEntityTooLarge):
        parsed(AppCredsRequest, b"a=" + b"1" * 100, max_content_length=10)


def form_request(body: bytes, declared_length: int | None, chunked: bool = False) -> AppCredsRequest:
    environ = EnvironBuilder(method="POST", data=body, content_type=FORM).get_environ()
    environ["wsgi.input"] = io.BytesIO(body)
    if declared_length is None:
        del environ["CONTENT_LENGTH"]
    else:
        environ["CONTENT_LENGTH"] = str(declared_length)
    if chunked:  # as a server that de-chunks the body says (granian, and gunicorn for chunked requests)
        environ["wsgi.input_terminated"] = True
    return AppCredsRequest(environ)


def test_a_declared_body_is_read_exactly_and_nothing_past_it():
    request = form_request(b"a=1&b=2" + b"&c=not-this-request", declared_length=7)
    assert request.form.to_dict() == {"a": "1", "b": "2"}


def test_a_body_shorter_than_its_content_length_is_a_client_that_went_away():
    with pytest.raises(ClientDisconnected):
        _ = form_request(b"a=1", declared_length=10).form


def test_a_chunked_body_goes_through_werkzeugs_stream_as_before():
    assert form_request(b"a=1&b=2", declared_length=None, chunked=True).form.to_dict() == {"a": "1", "b": "2"}
    # Past the limit, Werkzeug's stream stops reading at it (it answers 413 only for a declared length).
    ours, werkzeugs = form_request(b"a=" + b"1" * 100, declared_length=None, chunked=True), Request(
        form_request(b"a=" + b"1" * 100, declared_length=None, chunked=True).environ)
    ours.max_content_length = werkzeugs.max_content_length = 10
    assert ours.form.to_dict() == werkzeugs.form.to_dict() == {"a": "1" * 8}


def test_a_body_read_with_get_data_first_still_parses():
    request = form_request(b"a=1", declared_length=3)
    assert request.get_data() == b"a=1"
    assert request.form.to_dict() == {"a": "1"}
