"""A server's worker freezes its start-up objects (app.py freeze_startup_objects): deploy/granian.sh
through app:create_worker_app, gunicorn through deploy/gunicorn.conf.py's post_worker_init hook.

Each test unfreezes again, so the rest of the suite collects as before.
"""
import gc
import runpy
from pathlib import Path

import pytest

import app as app_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_create_worker_app_builds_the_app_and_freezes_what_exists_then(unfrozen, instance_path, monkeypatch):
    monkeypatch.setenv("APPCREDS_INSTANCE_PATH", str(instance_path))
    worker_app = app_module.create_worker_app()
    assert worker_app.name == "app" and "oauth" in worker_app.blueprints
    assert gc.get_freeze_count() > 10_000  # the app and its libraries
    collected = gc.get_objects()  # what a collection scans: not the frozen
    assert not any(obj is worker_app.config for obj in collected)
    later = [object()]  # created after the freeze: the collector still sees it
    assert any(obj is later for obj in gc.get_objects())


def test_gunicorns_post_worker_init_hook_freezes_as_well(unfrozen):
    settings = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    settings["post_worker_init"](worker=None)
    assert gc.get_freeze_count() > 10_000
