"""Starts a real ``mailroom serve`` (the cargo-built binary) on free ports with a fresh data
directory, once per test session, and hands out clients for it.

The binary is ``$MAILROOM_BIN``, else ``$CARGO_TARGET_DIR/debug/mailroom``, else
``target/debug/mailroom`` at the repository root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest

from mailroom import AsyncMailroom, Mailroom

ROOT = Path(__file__).resolve().parents[3]


def binary() -> Path:
    if os.environ.get("MAILROOM_BIN"):
        return Path(os.environ["MAILROOM_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return target / "debug" / "mailroom"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running ``mailroom serve``; ``restart()`` stops and starts it on the same ports and
    data (the event-stream resume test needs it)."""

    def __init__(self, extra_config: str = ""):
        exe = binary()
        if not exe.exists():
            raise RuntimeError(f"{exe} does not exist: run `cargo build -p mailroom` or set MAILROOM_BIN")
        self.exe = exe
        self.dir = Path(tempfile.mkdtemp(prefix="mailroom-sdk-"))
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.smtp = ("127.0.0.1", self.smtp_port)
        self.config = self.dir / "mailroom.toml"
        self.config.write_text(
            f'data_dir = "{self.dir / "data"}"\n'
            "[http]\n"
            f'addr = "127.0.0.1:{self.http_port}"\n'
            "[smtp]\n"
            f'addr = "127.0.0.1:{self.smtp_port}"\n'
            "[webhooks]\n"
            "allow_private_targets = true\n"
            "retry_schedule_secs = [0, 1, 1, 1]\n" + extra_config
        )
        self.proc: Optional[subprocess.Popen] = None
        self.start()
        self.api_key = (self.dir / "data" / "admin-api-key").read_text().strip()

    def start(self) -> None:
        log = open(self.dir / "server.log", "ab")
        self.proc = subprocess.Popen([str(self.exe), "serve", "--config", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mailroom exited: {(self.dir / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"mailroom did not become ready: {(self.dir / 'server.log').read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture()
def client(server: Server) -> Iterator[Mailroom]:
    with Mailroom(api_key=server.api_key, base_url=server.url) as c:
        yield c


@pytest.fixture()
async def aclient(server: Server):
    async with AsyncMailroom(api_key=server.api_key, base_url=server.url) as c:
        yield c


@pytest.fixture()
def name() -> str:
    """A mailbox name no other test uses."""
    return "t" + uuid.uuid4().hex[:10]
