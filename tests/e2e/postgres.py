"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, start on a free
loopback port, stop it afterwards. Uses the server binaries of Debian's postgresql package."""
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port


def find_postgres_bin() -> Path | None:
    """The folder that holds initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for candidate in [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]:
        if candidate and Path(candidate).with_name("pg_ctl").exists():
            return Path(candidate).resolve().parent
    return None


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package creates the `postgres` account for it.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server():
    """Yield a SQLAlchemy URL of an empty database `appcreds` on a fresh server."""
    binaries = find_postgres_bin()
    # Directly under the system temp folder: pytest's own folders are private to root, and the
    # server runs as `postgres`, which must be able to reach its data folder.
    workdir = Path(tempfile.mkdtemp(prefix="appcreds-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data, port = workdir / "data", free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 60}
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "appcreds",
                                    "--auth=trust", "--encoding=UTF8"]), **run)
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1"
    subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                                    "-l", str(workdir / "server.log"), "-w", "-t", "30", "start"]), **run)
    try:
        subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "appcreds",
                        "appcreds"], **run)
        yield f"postgresql+psycopg://appcreds@127.0.0.1:{port}/appcreds"
    finally:
        subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30",
                                        "stop"]), check=False, capture_output=True, timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)
