"""AppCredsRequest (blueprints/request_bodies.py) parses a form body exactly as Werkzeug does."""
import io

import pytest
from flask import Request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import RequestEntityTooLarge
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
