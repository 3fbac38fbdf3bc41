"""Start real servers for end-to-end tests: gunicorn on a free loopback port.

Every process started here is ended by the same context manager, by its own handle.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# End-to-end modules sign the same test person in several times a minute; the limits themselves
# are pinned in process by tests/test_rate_limits.py. A test's own env still wins.
E2E_SETTINGS = {"APPCREDS_RATELIMIT_SIGN_IN_ACCOUNT": "100/minute"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0, process=None) -> None:
    """Poll `url` until it answers (any status), for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # refused, or accepted before a worker was ready
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def flask_cli(instance_path, *args, env=None, check=True):
    """Run `flask --app app ...` against an instance folder; returns the CompletedProcess."""
    full_env = {**os.environ, "APPCREDS_INSTANCE_PATH": str(instance_path), **(env or {})}
    return subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, check=check, timeout=120,
    )


@contextlib.contextmanager
def granian(instance_path, workers=1, port=None, env=None, log_path=None):
    """Run deploy/granian.sh (granian's WSGI interface) on 127.0.0.1; yields (base URL, process)."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                **E2E_SETTINGS, "APPCREDS_INSTANCE_PATH": str(instance_path), "APPCREDS_ISSUER": base_url + "/",
                "APPCREDS_BIND_PORT": str(port), "APPCREDS_WORKERS": str(workers), **(env or {})}
    log_file = open(log_path or Path(instance_path) / "granian.log", "w")  # noqa: SIM115
    # Its own process group: granian's workers are stopped with it, even if it has to be killed.
    process = subprocess.Popen([str(ROOT / "deploy" / "granian.sh")], cwd=ROOT, env=full_env, stdout=log_file,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(base_url + "/.well-known/jwks.json", process=process)
        yield base_url, process
    finally:
        stop_process_group(process)
        log_file.close()


def stop_process_group(process) -> None:
    """SIGTERM to the group this module started `process` in, then SIGKILL to it after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):  # workers still shutting down after the master left
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


def stop_process(process) -> None:
    """SIGTERM, then SIGKILL after 15 s: only the process this module started."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(instance_path, workers=1, port=None, env=None, log_path=None):
    """Run `gunicorn 'app:create_app()'` on 127.0.0.1; yields the base URL ("http://127.0.0.1:PORT")."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        **E2E_SETTINGS,
        "APPCREDS_INSTANCE_PATH": str(instance_path),
        "APPCREDS_ISSUER": base_url + "/",
        **(env or {}),
    }
    log_file = open(log_path or Path(instance_path) / "gunicorn.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "5",
         # gunicorn 27 puts every master's control socket at one path: tests that overlap would share it.
         "--no-control-socket", "app:create_app()"],
        cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(base_url + "/.well-known/jwks.json", process=process)
        yield base_url
    finally:
        stop_process(process)
        log_file.close()
