"""Run the shipped nginx edge (deploy/nginx/appcreds-edge.conf) on a free loopback port."""
import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.servers import ROOT, free_port

EDGE_TEMPLATE = ROOT / "deploy" / "nginx" / "appcreds-edge.conf"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def render_edge_config(**values) -> str:
    """The shipped server block with its ${NAME} placeholders filled in, as `envsubst` would;
    nginx's own $variables are left alone. A placeholder without a value is an error."""
    return re.sub(r"\$\{([A-Z_]+)\}", lambda match: str(values[match.group(1)]), EDGE_TEMPLATE.read_text())


@contextlib.contextmanager
def nginx_edge(workdir: Path, upstream: str, tls_certificate: Path, tls_key: Path, client_ca_bundle: Path,
               edge_secret: str, port: int | None = None, client_max_body_size: str | None = None):
    """Start nginx in the foreground with the edge config (on `port`, or a free one); yields its https base URL.

    `client_max_body_size` replaces the shipped body limit, to test an edge that lets more through than AppCreds.
    """
    binary = find_nginx()
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    server_block = render_edge_config(
        EDGE_LISTEN=f"127.0.0.1:{port}", EDGE_SERVER_NAME="localhost", EDGE_TLS_CERTIFICATE=tls_certificate,
        EDGE_TLS_KEY=tls_key, EDGE_CLIENT_CA_BUNDLE=client_ca_bundle, APPCREDS_UPSTREAM=upstream,
        EDGE_SECRET=edge_secret,
    )
    if client_max_body_size is not None:
        server_block, replaced = re.subn(r"client_max_body_size \S+;", f"client_max_body_size {client_max_body_size};",
                                         server_block)
        assert replaced == 1, "the shipped config sets client_max_body_size once"
    user = "user root;\n" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(f"""{user}worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
{server_block}
}}
""")
    stderr_log = open(workdir / "stderr.log", "w")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen([binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=stderr_log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr_log.flush()
                raise RuntimeError("nginx exited: " + (workdir / "stderr.log").read_text())
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            time.sleep(0.1)
        else:
            raise TimeoutError("nginx did not listen within 10 s")
        yield f"https://localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        stderr_log.close()
