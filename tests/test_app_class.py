"""AppCredsFlask (app.py): Flask's answer to "is this a coroutine function?" asked once per function."""


def test_a_sync_function_is_handed_back_and_remembered(app):
    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    assert view in app._known_sync
    assert app.ensure_sync(view) is view

