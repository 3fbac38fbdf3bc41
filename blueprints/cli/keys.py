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
    """next -> current -> previous, plus a new next key, all of APPCREDS_ACCESS_TOKEN_ALG.

    Verifiers already have the new current key (it was published as next), unless the algorithm
    changed: a next key of another algorithm is replaced by a new current one.
    """
    new_current = rotate_key_file(Path(current_app.instance_path) / "signing-keys.json",
                                  current_app.config["APPCREDS_ACCESS_TOKEN_ALG"],
                                  int(current_app.config["APPCREDS_ACCESS_TOKEN_LIFETIME"]))
    click.echo(f"signing with {new_current['kid']} ({new_current['alg']})")
