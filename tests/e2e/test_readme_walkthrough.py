"""The README's curl walk-throughs run as written, against ``hub serve`` and the localstripe emulator.

Every ```` ```sh ```` block the README marks with ``<!-- walk-through -->`` is run, in order, in
one ``bash -euo pipefail`` shell, from a directory where ``hub serve`` keeps its dev files in
``.hub/`` (as ``scripts/serve`` does). The only change made to the text is the two addresses
(the README's ports 8000 and 8420 become free ones). The blocks capture ids with ``jq -e``, so a
field the hub stops returning fails the run where it is read. The emulator is this test's own:
the walk-through registers a webhook with it, which would send every later event of a shared
one to this hub.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import hub_env, start_hub
from tests.support.emulator import Emulator, free_port

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- walk-through -->"
BLOCK = re.compile(re.escape(MARKER) + r"\n```sh\n(.*?)\n```", re.S)
HUB_ADDRESS = "http://127.0.0.1:8000"
EMULATOR_ADDRESS = "http://127.0.0.1:8420"
STARTUP_SECONDS = 60
RUN_SECONDS = 120


def walkthrough_script(text: str, hub_url: str, emulator_url: str) -> str:
    blocks = BLOCK.findall(text)
    markers = len(re.findall(f"^{re.escape(MARKER)}$", text, re.M))
    assert len(blocks) == markers, f"every {MARKER} line must be followed by a ```sh block"
    script = "\n".join(blocks)
    for address in (HUB_ADDRESS, EMULATOR_ADDRESS):
        assert address in script, f"the README's walk-through no longer sets {address}: update this test"
    return script.replace(HUB_ADDRESS, hub_url).replace(EMULATOR_ADDRESS, emulator_url)


def test_the_walkthrough_extraction_takes_marked_blocks_only():
    text = (
        f"```sh\nnot marked\n```\n{MARKER}\n```sh\nHUB={HUB_ADDRESS}\n```\nprose naming `{MARKER}`\n"
        f"{MARKER}\n```sh\nEMU={EMULATOR_ADDRESS}\necho two\n```\n"
    )
    assert walkthrough_script(text, "http://h", "http://e") == "HUB=http://h\nEMU=http://e\necho two"


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path):
    assert shutil.which("jq"), "the README's walk-through needs jq (apt-get install jq)"
    emulator = Emulator(tmp_path)
    port = free_port()
    # The README's setting: dev mode, the default SQLite file and generated secrets in ./.hub.
    env = hub_env(
        None,
        tmp_path / ".hub",
        HUB_PLATFORM_TOKEN=None,
        HUB_VAULT_KEYS=None,
        HUB_STRIPE_API_BASE=emulator.url,
        HUB_STRIPE_EMULATOR="localstripe",
    )
    log = tmp_path / "serve.log"
    proc = start_hub("serve", "--host", "127.0.0.1", "--port", str(port), env=env, log=log, cwd=tmp_path)
    hub_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, hub_url, log)
        script = walkthrough_script(README.read_text(), hub_url, emulator.url)
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        emulator.stop()
    out = run.stdout
    assert run.returncode == 0, f"the walk-through stopped (exit {run.returncode}):\n{run.stderr}\n{out}"
    for shown in (
        "idempotent-replayed: true",  # step 5: the replay
        '"amount_received":1500',  # step 6: the partial capture
        '"status":"partially_refunded"',  # step 7
        '["payment_intent.succeeded","applied"]',  # the events list
        '"code":"card_declined"',  # the declined card
        '"last4":"4242"',  # step 9: the saved card
        '"amount_received":15000',  # step 9: the no-show charge
        '"cancel_at_period_end":true',  # step 11
    ):
        assert shown in out, f"the walk-through did not print {shown}:\n{out}"
    problems = re.findall(r'"code":"([a-z_]+)"', out)
    assert problems == ["card_declined"], f"errors other than the documented decline: {problems}\n{out}"


def _wait_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"hub serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"hub serve was not ready within {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')}")
