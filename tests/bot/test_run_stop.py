"""SIGTERM stops `sotabot run` within 10 s whatever it is doing: here, every poll reading a
body (or the status line and headers) that drips one byte a second, so no read ever times
out and only the stop ends them.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.bot.test_run_delivery import _env, _start, _wait_for
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, Fault


@pytest.mark.slow
@pytest.mark.parametrize("drip", ["drip", "drip-headers"], ids=["bodies", "headers"])
def test_sigterm_with_every_upstream_dripping_exits_within_10s_without_tracebacks(tmp_path: Path, drip: str):
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    log = tmp_path / "run.log"
    with FakeUpstream() as upstream, FakeSlackApi() as slack:
        upstream.fail("/", Fault(drip, seconds=1.0), times=1000)  # every path, every request
        env = _env(url, slack)
        for key in ("ARXIV", "HUGGINGFACE", "PAPERSWITHCODE"):
            env[f"SOTABOT_SOURCES__{key}__POLL_INTERVAL_MINUTES"] = "60"
        env["SOTABOT_SOURCES__GITHUB__REFRESH_INTERVAL_MINUTES"] = "60"
        env.update(
            {
                "SOTABOT_SOURCES__ARXIV__RSS_URL": upstream.url + "/rss",
                "SOTABOT_SOURCES__ARXIV__API_URL": upstream.url + "/arxiv",
                "SOTABOT_SOURCES__ARXIV__MIN_INTERVAL_SECONDS": "0",
                "SOTABOT_SOURCES__HUGGINGFACE__API_URL": upstream.url + "/hf",
                "SOTABOT_SOURCES__GITHUB__API_URL": upstream.url + "/github",
                "SOTABOT_SOURCES__GITHUB__GRAPHQL_URL": upstream.url + "/github/graphql",
                "SOTABOT_SOURCES__PAPERSWITHCODE__API_URL": upstream.url + "/pwc",
            }
        )
        proc = _start(env, log)
        try:
            # arXiv's poll starts 10 s after start, Hugging Face's 10 s later: both dripping at once
            _wait_for(lambda: {"/rss", "/hf"} <= {"/" + r.path.split("/")[1] for r in upstream.log}, 60, [proc], log)
            time.sleep(1.0)
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            took = time.monotonic() - stopped_at
        finally:
            if proc.poll() is None:
                proc.kill()
        dripping = sorted({"/" + r.path.split("/")[1] for r in upstream.log})
    text = log.read_text(errors="replace")
    print(f"\nSIGTERM with {dripping} dripping: exited {proc.returncode} after {took:.1f}s")
    assert took < 10.0, text[-3000:]
    assert proc.returncode == 0, text[-3000:]
    assert "Traceback" not in text and "CancelledError" not in text, text[-3000:]
    assert "sotabot run: stopped" in text
