"""Running the ``hub`` console script as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.canaries.ledger import LEDGER
from tests.support.hub import PLATFORM_TOKEN, VAULT_KEYS


def hub_executable() -> str:
    exe = shutil.which("hub", path=os.path.dirname(sys.executable))
    assert exe, "the `hub` console script is not installed next to this interpreter (pip install -e .)"
    return exe


ROOT = Path(__file__).resolve().parents[2]


def hub_env(database_url: str | None, home: Path, **extra: str | None) -> dict[str, str]:
    """A clean environment: only what the test gives, no HUB_* leaking in from the caller's shell."""
    env: dict[str, str | None] = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "dev",
            "HUB_HOME": str(home),
            "HUB_VAULT_KEYS": VAULT_KEYS,
            "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
            "HUB_LOG_LEVEL": "INFO",
        }
    )
    if database_url is not None:
        env["HUB_DATABASE_URL"] = database_url
    # This checkout's hub first: a venv installed from another tree must not supply the code tested.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env.update(extra)
    given = {k: v for k, v in env.items() if v is not None}  # None: the variable is unset
    LEDGER.harvest_env(given, "a hub command")
    return given


def run_hub(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [hub_executable(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    LEDGER.observe_output(done.stdout + done.stderr, f"the output of hub {' '.join(args)}")
    return done


def start_hub(*args: str, env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``hub ARGS`` in its own process group, stdout and stderr into ``log`` (never a full pipe)."""
    fh = open(log, "wb")
    LEDGER.watch_file(log, f"the output of hub {' '.join(args)}")
    try:
        return subprocess.Popen(
            [hub_executable(), *args], env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        fh.close()
