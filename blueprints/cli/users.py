"""`flask --app app users ...`: dashboard administrators and end users.

A user is no application, so these commands record nothing in an application's event log.
"""
import click
from flask.cli import AppGroup

from models import User, db

users_cli = AppGroup("users", help="Dashboard administrators and end users.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--admin", is_flag=True, help="May sign in to the dashboard.")
def create_user(email, password, admin):
    """Create a user."""
    email = User.normalize_email(email)
    if "@" not in email:
        raise click.ClickException("that is not an email address")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    if db.session.execute(db.select(User).where(User.email == email)).first():
        raise click.ClickException(f"a user {email} exists already")
    user = User(email=email, is_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {'administrator' if admin else 'user'} {email}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters; asked for (twice, not echoed) when not given.")
def set_password(email, password):
    """Set a user's password (a forgotten one, or the administrator's printed by `setup`); ends their sessions."""
    email = User.normalize_email(email)
    user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user has the email address {email}")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    user.set_password(password)
    user.end_sessions()  # a browser signed in with the old password is signed out
    db.session.commit()
    click.echo(f"password set for {email}; their sessions have ended")
