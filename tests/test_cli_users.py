"""`flask --app app users set-password`: the way back in when the administrator's password is lost."""
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, DashboardActions

NEW_PASSWORD = "a new password, long enough"


def test_sets_a_password_that_signs_in_and_retires_the_old_one(runner, client):
    result = runner.invoke(args=["users", "set-password", ADMIN_EMAIL.upper(), "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert f"password set for {ADMIN_EMAIL}" in result.output
    actions = DashboardActions(client)
    assert actions.login(password=ADMIN_PASSWORD).status_code == 400  # refused: the form again
    assert actions.login(password=NEW_PASSWORD).status_code == 302


def test_asks_twice_without_echo_when_no_password_is_given(runner):
    result = runner.invoke(args=["users", "set-password", ADMIN_EMAIL], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output


def test_refuses_an_unknown_user_and_a_short_password(runner):
    unknown = runner.invoke(args=["users", "set-password", "nobody@example.com", "--password", NEW_PASSWORD])
    assert unknown.exit_code != 0 and "no user has the email address nobody@example.com" in unknown.output
    short = runner.invoke(args=["users", "set-password", ADMIN_EMAIL, "--password", "short"])
    assert short.exit_code != 0 and "at least 8 characters" in short.output
