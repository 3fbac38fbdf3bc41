"""`flask --app app setup`: first-run work, safe to repeat.

Starting the app creates the instance secrets; this command says where they are, creates the
SQLite file with mode 0600, runs the migrations and creates the first administrator. It changes
no application, so it records nothing in an application's event log.
"""
import os
import secrets
from pathlib import Path

import click
from flask import current_app

from models import User, db


@click.command("setup")
def setup_command():
    """First-run work, safe to repeat: instance secrets, migrations, first admin."""
    from flask_migrate import upgrade

    instance = Path(current_app.instance_path)
    click.echo(f"instance folder: {instance} (secret_key, encryption.key, signing-keys.json; mode 0600)")
    _create_private_sqlite_file()
    upgrade()
    if db.session.execute(db.select(User).where(User.is_admin)).first() is not None:
        click.echo("an administrator exists already; nothing else to do")
        return
    email = os.environ.get("APPCREDS_ADMIN_EMAIL", "admin@example.com")
    password = os.environ.get("APPCREDS_ADMIN_PASSWORD")
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    admin = User(email=User.normalize_email(email), is_admin=True)
    admin.set_password(password)
    db.session.add(admin)
    db.session.commit()
    click.echo(f"created administrator {admin.email}")
    if generated:
        click.echo(f"  password (shown once, store it now): {password}")


def _create_private_sqlite_file():
    """An SQLite database holds encrypted secrets: create it 0600 (its WAL files inherit the mode)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
