"""gunicorn settings for AppCreds: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

The token endpoint is CPU-bound (one RSA signature per token), so one sync worker process
per core. Measured with bench/token_endpoint.py on 2 cores: threaded workers (gthread,
which keep connections alive) issued about half as many tokens per second as sync workers,
because their threads contend for the GIL; gevent was about 10 % faster on client secrets
but had second-long p99 latencies and halved Private Key JWT throughput (SQLite locking).
"""
import multiprocessing
import os

bind = os.environ.get("APPCREDS_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("APPCREDS_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
graceful_timeout = 10
control_socket_disable = True  # gunicorn 27: one control socket per user would be shared by every server
accesslog = os.environ.get("APPCREDS_ACCESS_LOG")  # unset: no access log on the hot path


def post_worker_init(worker):
    """Once a worker has loaded the app: app.freeze_startup_objects (short full garbage collections)."""
    from app import freeze_startup_objects

    freeze_startup_objects()
