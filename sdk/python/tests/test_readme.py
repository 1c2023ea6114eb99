"""The README's Python quickstart, run unchanged against the test server as a newcomer would
run it (a fresh interpreter with MAILROOM_URL and MAILROOM_API_KEY set), twice: it must be
re-runnable. And the SDK's sources keep to Python 3.9's grammar, as the README says."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SRC = Path(__file__).resolve().parents[1] / "src" / "mailroom"


def quickstart() -> str:
    """The first ```python block after "**Quickstart**" in the README's Python SDK section."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Python SDK"):]
    section = section[section.index("**Quickstart**"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python SDK section has no quickstart code block"
    return match.group(1)


def test_the_readme_quickstart_runs_unchanged_and_again(server, tmp_path: Path) -> None:
    code = quickstart()
    assert "Mailroom()" in code, "the quickstart reads its configuration from the environment"
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    env = {**os.environ, "MAILROOM_URL": server.url, "MAILROOM_API_KEY": server.api_key}
    outputs = []
    for run in range(2):
        done = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"run {run + 1} failed:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    for out in outputs:
        # The agent got the customer's reply and the thread holds the whole conversation.
        assert "says: Yes please!" in out, out
        assert "outbound Your order" in out and "inbound Re: Your order" in out, out


def test_the_sdk_keeps_to_python_3_9_syntax() -> None:
    # Python 3.9 is not installed here: this checks the grammar (no `match`, no parenthesised
    # context managers, no `X | Y` outside annotations deferred by `from __future__ import annotations`).
    files = sorted(SRC.glob("*.py"))
    assert files
    for f in files:
        source = f.read_text()
        tree = ast.parse(source, filename=str(f), feature_version=(3, 9))
        has_future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body)
        for node in ast.walk(tree):
            assert not isinstance(node, getattr(ast, "Match", ())), f"{f.name}: `match` needs Python 3.10"
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and not has_future:
                for side in (node.left, node.right):
                    assert not (isinstance(side, ast.Constant) and side.value is None), f"{f.name}:{node.lineno}: `X | None` needs 3.10"
