"""Fixtures for real-client tests: a headless JupyterLab server and a headless Chromium page.

These tests are opt-in (``GESTURELIB_BROWSER_TEST=1``, which ``tools/browser_test.sh`` sets)
because they start a Jupyter server, a kernel and a browser, which takes tens of seconds on a
2-core machine. Without the opt-in, or without Chromium or the Playwright driver, they skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

OPT_IN_VARIABLE = "GESTURELIB_BROWSER_TEST"
CHROMIUM_VARIABLE = "GESTURELIB_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Flags this machine's closed network needs (see the environment notes): without the
# background-networking ones Chromium keeps retrying connections it can never make.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SERVER_START_TIMEOUT_S = 90
KERNEL_CONNECT_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 20

# JupyterLab user settings for the test: no news / update toasts over the outputs.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        '{"fetchNews": "false", "checkForUpdates": false}',
    # JupyterLab 4 leaves off-screen cells unrendered by default, so their prompts read as empty.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
}


def _chromium_path() -> str:
    """The Chromium executable to drive; skips the test when it is not installed."""
    if os.environ.get(OPT_IN_VARIABLE, "").strip().lower() not in {"1", "true", "yes", "on"}:
        pytest.skip(f"browser tests are opt-in: run tools/browser_test.sh (or set {OPT_IN_VARIABLE}=1)")
    path = os.environ.get(CHROMIUM_VARIABLE, DEFAULT_CHROMIUM)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(f"Chromium not found at {path}: run tools/browser_test.sh to install it "
                    f"(or point {CHROMIUM_VARIABLE} at a Chromium binary)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, its token, the folder it serves, its log."""

    base_url: str
    token: str
    root: Path
    log_path: Path

    def notebook_url(self, name: str) -> str:
        # `reset` starts from an empty workspace, so no earlier layout is restored.
        return f"{self.base_url}/lab/tree/{name}?reset&token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def api(self, path: str):
        request = urllib.request.Request(f"{self.base_url}{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def wait_for_kernel(self, notebook_name: str) -> None:
        """Wait until the notebook's kernel is idle and a browser is connected to it.

        JupyterLab silently skips cells run before its session has a kernel, so a test must
        not press "Run All" earlier.
        """
        deadline = time.monotonic() + KERNEL_CONNECT_TIMEOUT_S
        while time.monotonic() < deadline:
            for session in self.api("/api/sessions"):
                kernel = session.get("kernel") or {}
                if (session["path"] == notebook_name and kernel.get("execution_state") == "idle"
                        and kernel.get("connections", 0) > 0):
                    return
            time.sleep(0.3)
        raise AssertionError(f"no idle, connected kernel for {notebook_name} within "
                             f"{KERNEL_CONNECT_TIMEOUT_S} s; log {self.log_path}:\n{self.log_tail()}")


def _wait_until_answering(process: subprocess.Popen, server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}; "
                               f"log {server.log_path}:\n{server.log_tail()}")
        try:
            server.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s; "
                       f"log {server.log_path}:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return _chromium_path()


@pytest.fixture(scope="module")
def jupyter_lab(chromium_path, tmp_path_factory) -> LabServer:
    """JupyterLab on a free localhost port, serving an empty temporary folder, in quick mode.

    Tests copy the notebooks they open into ``root``, so JupyterLab never writes
    (autosave, checkpoints) into the repository.
    """
    base = tmp_path_factory.mktemp("jupyterlab")
    root, settings = base / "root", base / "settings"
    root.mkdir()
    for relative, text in LAB_SETTINGS.items():
        (settings / relative).parent.mkdir(parents=True, exist_ok=True)
        (settings / relative).write_text(text)
    port, token = _free_port(), secrets.token_hex(16)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, base / "jupyterlab.log")
    env = dict(os.environ, GESTURELIB_QUICK="1",
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"))
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    with open(server.log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(process, server)
        yield server
    finally:
        # SIGTERM lets the server shut its kernels down before it exits.
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser_context(chromium_path, tmp_path_factory):
    """A headless Chromium with a new, empty profile, driven by Playwright."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the Playwright driver is not installed: run tools/browser_test.sh")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.set_default_timeout(60_000)
    yield page
    page.close()
