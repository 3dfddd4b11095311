"""Live syncs that write leaderboards wait while an archive import runs; the others go on.

The importer keeps tasks, benchmarks and metrics by name between its chunks, so a sync that
created one of them meanwhile would make the import collide (and be undone). Deferring such a
sync by one interval costs nothing; arXiv and GitHub polls never touch those tables.
"""

from __future__ import annotations

from sotabot.sources.poll import poller
from sotabot.storage.imports import import_lock
from tests.fakes.upstream import FakeUpstream
from tests.sources.upstream.test_paperswithcode import make_config


def test_a_leaderboard_sync_is_deferred_while_an_import_holds_the_lock_and_runs_after(engine):
    with FakeUpstream() as srv:
        config = make_config(srv.url)
        with import_lock(engine):
            report = poller("paperswithcode").poll(engine, config)
        assert report.details == {"deferred_by_import": 1} and report.ok
        assert srv.log == []  # not one request while the import ran
        poller("paperswithcode").poll(engine, config)
        assert srv.log  # and the next poll syncs as usual


def test_only_the_pollers_that_write_leaderboards_wait_for_imports():
    from sotabot.sources.poll import POLLERS

    assert {p.name for p in POLLERS if p.waits_for_imports} == {"paperswithcode", "hf-leaderboards"}
