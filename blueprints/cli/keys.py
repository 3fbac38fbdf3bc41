"""`flask --app app keys ...`: the server's token-signing keys (instance/signing-keys.json).

The keys belong to the server, not to an application, so rotating them records no application event.
"""
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from models.signing_keys import rotate_key_file

keys_cli = AppGroup("keys", help="The server's token-signing keys.")


@keys_cli.command("rotate")
def rotate_signing_key():
    """next -> current -> previous, plus a new next key. Verifiers already have the new current."""
    new_current = rotate_key_file(Path(current_app.instance_path) / "signing-keys.json")
    click.echo(f"signing with {new_current['kid']}")
