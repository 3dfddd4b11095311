"""`sotabot run` when its disk refuses writes mid-delivery: every digest exactly once, health answers.

The fault is made for the running process alone: its file-size limit (RLIMIT_FSIZE, changed
from outside with prlimit) drops to 0, so every write to a file fails (SQLite's database,
journal and WAL alike; CPython ignores SIGXFSZ, so the write fails rather than the process
dying) until the limit is lifted, as when space is freed. That is a stricter fault than a
full disk (which still lets SQLite overwrite pages it already has), so the post-then-record
path meets a failing write on every attempt, for longer than the delivery lease.
"""

from __future__ import annotations

import resource
import time
from collections import Counter

import pytest

from tests.bot.test_run_busy_database import CHANNELS, HealthProbe, _sent
from tests.bot.test_run_delivery import _env, _prepare, _start, _stop, _wait_for
from tests.fakes.slack_api import FakeSlackApi

FULL_SECONDS = 8.0  # longer than the test config's lease (3 s): a row given up on would be sent again
LEASE_SECONDS = 3.0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="prlimit is Linux's")
def test_a_disk_that_refuses_writes_mid_delivery_delays_digests_but_repeats_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    _prepare(url, CHANNELS)
    log = tmp_path / "run.log"
    probe = HealthProbe(log)
    with FakeSlackApi(delay=0.1) as api:
        proc = _start(_env(url, api), log)
        probe.start()
        try:
            _wait_for(lambda: len(api.posts) >= 20, 60, [proc], log)  # sends in flight when the disk fills
            unlimited = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (0, unlimited[1]))
            at_full = len(api.posts)
            time.sleep(FULL_SECONDS)
            during = [body for _, _, body in probe.answers]
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, unlimited)
            _wait_for(lambda: len({p.channel for p in api.posts}) >= CHANNELS, 120, [proc], log)
            _wait_for(lambda: _sent(url) >= CHANNELS, 60, [proc], log)
            time.sleep(2 * LEASE_SECONDS)  # a row wrongly given up on after its lease would be sent now
        finally:
            probe.stop()
            _stop([proc])
        counts = Counter(p.channel for p in api.posts)
    text = log.read_text(errors="replace")
    print(
        f"\ndisk refused writes for {FULL_SECONDS:.0f}s after {at_full} posts: {len(api.posts)} posts for "
        f"{CHANNELS} channels, {len(counts)} distinct, {sum(n - 1 for n in counts.values())} duplicates; "
        f"/healthz answered {len(probe.answers)} times, slowest {max(a[0] for a in probe.answers):.3f}s"
    )
    assert len(counts) == CHANNELS
    assert set(counts.values()) == {1}, [c for c, n in counts.items() if n > 1]
    assert proc.returncode == 0, text[-3000:]
    assert all(seconds < 1.0 for seconds, _, _ in probe.answers), probe.answers
    assert {status for _, status, _ in probe.answers} == {200}, probe.answers  # reads still work: alive
    assert sum("deliveries delayed" in body for body in during) >= 10, during  # and it says why
