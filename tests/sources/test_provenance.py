"""Every answer says where its board comes from and how old it is: the starter set says so and how to
load the full archive; only sources that wrote a shown row are named."""

from __future__ import annotations

from sqlmodel import Session

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.settings import Config
from sotabot.digests.message import Context
from sotabot.sources.archive.hub import record_import
from sotabot.sources.archive.starter import ensure_starter_data
from sotabot.sources.provenance import board_provenance

CTX = CommandContext(platform="slack", workspace="T1", channel="C1", user="U1")


def _footer(engine, text: str) -> str:
    msg = handle(engine, Config(), CTX, text, charts=False)
    return [b.text for b in msg.blocks if isinstance(b, Context)][-1]


def test_the_starter_set_says_what_it_is_and_how_to_load_the_archive(engine):
    ensure_starter_data(engine, Config())
    assert _footer(engine, "/sota image classification") == (
        "starter set (results up to 2022, CC BY-SA 4.0) · run `sotabot data update` for the full archive"
    )
    with Session(engine) as s:
        prov = board_provenance(s, ["pwc_archive", "claim"])
    assert [d.name for d in prov.sources] == ["starter set (results up to 2022)"] and prov.as_of is not None


def test_once_the_archive_is_in_its_import_date_is_named_and_only_the_sources_used(engine):
    ensure_starter_data(engine, Config())
    record_import(engine, "pwc-archive/evaluation-tables", "abc123")
    with Session(engine) as s:
        prov = board_provenance(s, ["pwc_archive"])
        both = board_provenance(s, ["claim", "pwc_archive"])
    assert prov.footer().startswith("Papers with Code archive (CC BY-SA 4.0), imported ")
    assert "data update" not in prov.footer()
    assert [d.name for d in both.sources] == ["Papers with Code archive", "claims in arXiv abstracts (unverified)"]
    assert prov.to_json()[0]["updated_at"].endswith("+00:00")


def test_a_board_of_archive_rows_names_the_archive_alone(engine):
    """No "and live sources" beside it: only the sources that wrote a shown row are named."""
    from tests.bot.interactive_boards import seed_interactive

    seed_interactive(engine)  # every row from the archive
    msg = handle(engine, Config(), CTX, "/sota image classification", charts=False)
    contexts = [b.text for b in msg.blocks if isinstance(b, Context)]
    assert [t for t in contexts if "Papers with Code archive" in t] == [contexts[-1]]
    assert not any("live sources" in t or "Hugging Face" in t or "claims" in t for t in contexts)


def test_a_source_never_synced_names_no_sync_date(engine):
    """Starter claims once a small file is imported: the claim extractor never ran, so no "synced <date>"."""
    from datetime import UTC, datetime

    from sotabot.sources.poll import record_outcome

    ensure_starter_data(engine, Config())
    record_import(engine, "file:pwc-tables", "small.json")  # what `sotabot import pwc-tables FILE` records
    with Session(engine) as s:
        prov = board_provenance(s, ["pwc_archive", "claim"])
    assert not prov.starter_only
    archive, claims = prov.footer().split(" · ")
    assert archive.startswith("Papers with Code archive (CC BY-SA 4.0), imported ")
    assert claims == "claims in arXiv abstracts (unverified)" and prov.sources[1].updated_at is None
    record_outcome(engine, "claims", None, datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # the extractor ran
    with Session(engine) as s:
        prov = board_provenance(s, ["claim"])
    assert prov.footer() == "claims in arXiv abstracts (unverified), synced 2026-11-30"
