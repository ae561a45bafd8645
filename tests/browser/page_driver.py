"""The browser, from Python: ``clients/typescript/browser-test/run.mjs --lines`` (playwright-core
driving Debian's Chromium, no browser download) answering one JSON step per line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from agent_streams_dev.local.template import PROJECT_ROOT

TS_DIR = PROJECT_ROOT / "clients" / "typescript"
RUN_MJS = TS_DIR / "browser-test" / "run.mjs"


def chromium_path() -> str:
    """The Chromium to drive: ``$CHROMIUM``, else the Debian package's."""
    return os.environ.get("CHROMIUM") or "/usr/bin/chromium"


def missing_prerequisites() -> list[str]:
    """What this machine lacks for the browser tests (``make browser-test`` installs them)."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (Node.js 18+)")
    if not (TS_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("clients/typescript/node_modules (make npm)")
    if not Path(chromium_path()).exists():
        missing.append(f"{chromium_path()} (apt-get install -y chromium)")
    return missing


def package_versions() -> dict[str, str]:
    """The versions the pages were built with (clients/typescript/node_modules)."""
    names = ("ai", "@ai-sdk/react", "react", "playwright-core", "esbuild")
    return {
        name: json.loads((TS_DIR / "node_modules" / name / "package.json").read_text())["version"]
        for name in names
    }


class PageBuild:
    """``npm run browser-build`` (the client, a type check of the pages, esbuild), run in
    the background while the local stack starts."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._process = subprocess.Popen(
            ["npm", "run", "--silent", "browser-build"],
            cwd=TS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self, timeout: float = 300) -> float:
        """Seconds the build took; raises if it failed."""
        output, _ = self._process.communicate(timeout=timeout)
        if self._process.returncode != 0:
            raise RuntimeError(f"npm run browser-build failed:\n{output}")
        return time.monotonic() - self.started


class BrowserError(AssertionError):
    """A step failed in the browser (the page's console is in the message)."""


class BrowserPage:
    """One headless Chromium with one page, driven step by step."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            ["node", str(RUN_MJS), "--lines"],
            cwd=TS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHROMIUM": chromium_path()},
        )
        self._lock = threading.Lock()
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        first = self._answer()
        if first.get("ready") is not True:
            raise BrowserError(f"the browser harness did not start: {first}")

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise BrowserError(
                f"the browser harness exited ({self._process.returncode}): {''.join(self._stderr)}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def step(self, op: str, **args: Any) -> dict[str, Any]:
        with self._lock:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self._process.stdin.flush()
            answer = self._answer()
        if not answer.get("ok"):
            logs = "\n".join(answer.get("logs", [])[-30:])
            raise BrowserError(f"{op} failed: {answer.get('error')}\npage console:\n{logs}")
        result: dict[str, Any] = answer["result"]
        return result

    # the steps a test uses
    def open(self, thread_id: str, base_url: str, *, view: str = "page") -> dict[str, Any]:
        return self.step("open", threadId=thread_id, baseUrl=base_url, view=view)

    def parts(self) -> dict[str, Any]:
        """``{"messages": n, "parts": [{"type", "text"}]}`` of the last assistant message."""
        return self.step("text")

    def read(self) -> dict[str, Any]:
        return self.step("read")

    def reload(self) -> dict[str, Any]:
        return self.step("reload")

    def press_stop(self) -> str:
        return str(self.step("stop")["stopResult"])

    def wait_for_finish(self, timeout_s: float) -> dict[str, Any]:
        return self.step("waitForFinish", timeoutMs=round(timeout_s * 1000))

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.step("screenshot", path=str(path))
        return path

    def user_agent(self) -> str:
        return str(self.step("version")["userAgent"])

    def logs(self) -> list[str]:
        return list(self.step("logs")["logs"])

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
