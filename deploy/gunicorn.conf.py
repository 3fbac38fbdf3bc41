"""gunicorn settings for AppCreds: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

The token endpoint is CPU-bound (one RSA signature per token), so one worker process per
core. Each worker runs a few threads only so that HTTP keep-alive works: gunicorn's default
sync worker closes the connection after every response, and a client that asks for many
tokens then pays a new TCP connection each time.
"""
import multiprocessing
import os

bind = os.environ.get("APPCREDS_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("APPCREDS_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("APPCREDS_THREADS", 4))
keepalive = 5                 # seconds an idle keep-alive connection stays open
graceful_timeout = 10
control_socket_disable = True  # gunicorn 27: one control socket per user would be shared by every server
accesslog = os.environ.get("APPCREDS_ACCESS_LOG")  # unset: no access log on the hot path
