"""Create many client-secret applications at once, for bench/token_endpoint.py --applications N.

    .venv/bin/python bench/many_applications.py INSTANCE_FOLDER COUNT AUDIENCE SCOPE OUT_FILE

Each application is made by the domain layer, as the dashboard and the command line make one
(models/applications.py create_application, then grant_api): a client id, a secret encrypted at
rest and its digest (models/client_secrets.py), the API grant, the version. Only the per-change
audit records the doors add (models/audit.py) are left out. Commits go in batches, so 100,000
applications take minutes, not hours. OUT_FILE gets one Authorization header value per line
(Basic, RFC 6749 §2.3.1), one application each, for wrk to send round-robin (bench/token.lua).

Run with the application's source folder as the working directory (token_endpoint.py does).
"""
import base64
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

BATCH = 1000  # applications per commit


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def create_applications(instance: Path, count: int, audience: str, scope: str, out: Path) -> float:
    """Returns the seconds it took."""
    os.environ["APPCREDS_INSTANCE_PATH"] = str(instance)
    sys.path.insert(0, os.getcwd())
    from app import create_app
    from models import db
    from models.applications import create_application, grant_api

    app = create_app({"APPCREDS_EVENT_FLUSH_SECONDS": 60})
    started = time.monotonic()
    with app.app_context(), out.open("w") as lines:
        for first in range(0, count, BATCH):
            made = []
            for number in range(first, min(first + BATCH, count)):
                client, secret = create_application(f"Bench application {number + 1}", "non_interactive")
                grant_api(client, audience, [scope])
                made.append((client, secret))
            db.session.commit()
            lines.writelines(basic(client.client_id, secret) + "\n" for client, secret in made)
            db.session.expunge_all()  # the next batch starts from an empty session
        db.engine.dispose()
    return time.monotonic() - started


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__.split("\n\n")[1])
    instance_folder, how_many, api, scope_name, out_file = sys.argv[1:]
    took = create_applications(Path(instance_folder), int(how_many), api, scope_name, Path(out_file))
    print(f"created {int(how_many)} applications in {took:.1f} s")
