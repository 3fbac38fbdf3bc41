"""The command line, for scripts, demos and tests: `flask --app app <group> <command>`.

One module per command group, over the same domain layer as the dashboard (models/):
    setup.py        `setup`: first-run work (instance secrets, migrations, the first administrator)
    users.py        `users`: dashboard administrators and end users
    clients.py      `clients`: applications, their secret, method and API grants
    credentials.py  `credentials`: registered keys, certificates and subject DNs
    keys.py         `keys`: the server's token-signing keys
    key_pairs.py    `keys generate`: an RSA key pair (and certificate) for an application, on the user's side
    demo.py         `demo seed`: a demo tenant (one application per method) and its keys, for examples/
common.py loads an application, commits a change or prints the domain's refusal, and records
every change to an application in its event log, as the dashboard does (door "cli").
"""
from flask import Flask

from blueprints.cli import key_pairs  # noqa: F401  (adds `keys generate` to keys_cli)
from blueprints.cli.clients import clients_cli
from blueprints.cli.credentials import credentials_cli
from blueprints.cli.demo import demo_cli
from blueprints.cli.keys import keys_cli
from blueprints.cli.setup import setup_command
from blueprints.cli.users import users_cli


def register_commands(app: Flask) -> None:
    """Add every command and command group to `flask --app app`."""
    app.cli.add_command(setup_command)
    for group in (users_cli, clients_cli, credentials_cli, keys_cli, demo_cli):
        app.cli.add_command(group)
