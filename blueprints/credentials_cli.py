"""`flask --app app credentials ...`: the credential registry from the command line (issue 3)."""
from flask.cli import AppGroup

credentials_cli = AppGroup("credentials", help="Registered keys and certificates.")
