#!/bin/sh
# AppCreds under granian's WSGI interface: HTTP/1.1 keep-alive handled in Rust, one Python thread
# per worker process running the application (the token endpoint is CPU-bound: more threads per
# process would only contend for the GIL), no access log on the hot path. app:create_worker_app is
# create_app, then gc.freeze of the start-up objects (app.py freeze_startup_objects: short full
# garbage collections).
#
#   pip install -e '.[granian]' && flask --app app setup && deploy/granian.sh
#
# Install into a virtualenv on a CPython built with PGO and LTO (Debian's python3, the official
# Docker images): 7 to 12 % less CPU per token in process than pyenv's default build (README,
# Performance).
#
# SIGHUP respawns the workers one by one (a graceful restart); SIGTERM stops after in-flight requests.
# Settings: APPCREDS_BIND_HOST, APPCREDS_BIND_PORT, APPCREDS_WORKERS (default: one per core), and
# every APPCREDS_* setting of the README. gunicorn stays supported: deploy/gunicorn.conf.py.
set -eu
exec granian --interface wsgi --factory \
    --host "${APPCREDS_BIND_HOST:-127.0.0.1}" --port "${APPCREDS_BIND_PORT:-5000}" \
    --workers "${APPCREDS_WORKERS:-$(nproc)}" --blocking-threads 1 \
    --no-access-log --respawn-failed-workers \
    app:create_worker_app
