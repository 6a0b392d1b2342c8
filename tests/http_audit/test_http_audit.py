"""GraphQL over HTTP, exactly: the reference audit (npm `graphql-http`, its `serverAudits`,
pinned in package-lock.json) passes every audit, with neither warnings nor notices,
against a real server on the test database."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from schema.http import build_app
from tests.server import serving

HERE = Path(__file__).resolve().parent
AUDITS = 61


def node_modules() -> None:
    """`npm ci` from the lock file when the pinned packages are not installed yet."""
    if (HERE / "node_modules" / "graphql-http" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the GraphQL-over-HTTP audit")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        check=True,
        timeout=300,
    )


def test_graphql_over_http_audit_passes_every_audit(database_uri: str) -> None:
    node_modules()
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the GraphQL-over-HTTP audit"
    with serving(build_app(database_uri)) as base:
        ran = subprocess.run(
            [node, str(HERE / "audit.mjs"), f"{base}/graphql"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout)
    failing = [r for r in results if r["status"] != "ok"]
    assert failing == []
    assert len(results) == AUDITS
