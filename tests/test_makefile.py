"""The Makefile's `run`: the issuer follows HOST and PORT, so the addresses and audiences shown are right."""
import os
import shutil
import subprocess

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned_run(*arguments, **environment):
    """The commands `make run` would run (make -n runs nothing)."""
    env = {key: value for key, value in os.environ.items() if key != "APPCREDS_ISSUER"}
    result = subprocess.run(["make", "-n", "run", *arguments], cwd=ROOT, env={**env, **environment},
                            capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if "flask --app app" in line]


def test_the_issuer_follows_the_port_and_host():
    setup, run = planned_run("PORT=5077", "HOST=0.0.0.0")
    assert setup.startswith("APPCREDS_ISSUER=http://0.0.0.0:5077/ ")
    assert run.startswith("APPCREDS_ISSUER=http://0.0.0.0:5077/ ") and run.endswith("--host 0.0.0.0 --port 5077")


def test_an_issuer_set_in_the_environment_wins():
    for line in planned_run("PORT=5077", APPCREDS_ISSUER="https://auth.example/"):
        assert line.startswith("APPCREDS_ISSUER=https://auth.example/ ")
