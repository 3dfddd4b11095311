"""`/sota` commands on a real migrated database holding real archive leaderboards.

The leaderboards are imported from the Papers with Code fixture files through the real
importer; expected answers are computed from the same JSON files, not from our code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.commands.parser import USAGE
from sotabot.bot.lookup.complete import complete_dataset, complete_task
from sotabot.bot.lookup.index import invalidate
from sotabot.bot.render.discord import render_discord
from sotabot.bot.render.slack import render_slack
from sotabot.bot.settings import Config
from sotabot.digests.message import Context, Fields, Image, Message, Section, Table
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.db import make_engine, session_scope
from sotabot.storage.models import Channel, Paper, PaperRepo, Repo, Subscription, Task, TaskAlias
from tests.bot.platform_limits import discord_problems, slack_problems
from tests.fixture_data import FixtureFiles
from tests.storage.test_leaderboards import Data

FILES = ("redditsota.json", "squad.json")
CONFIG = Config()
A = CommandContext("slack", "E1:T-A", "C-general", user="U1", can_manage=True, channel_name="general")
B = CommandContext("slack", "E1:T-B", "C-general", user="U2", can_manage=True)  # same channel id, other workspace
VIEWER = CommandContext("discord", "guild-1", "chan-1", user="u", can_manage=False)
ADMIN = CommandContext("discord", "guild-1", "chan-1", user="v", can_manage=True)


@pytest.fixture
def db(engine: Engine, fixture_files: FixtureFiles) -> Engine:
    for name in FILES:
        import_tables(engine, fixture_files.pwc_tables / name)
    return engine


def _rows(fixture_files: FixtureFiles, name: str, task: str, dataset: str) -> list[dict]:
    for t in json.loads((fixture_files.pwc_tables / name).read_text()):
        if t["task"] == task:
            for d in t["datasets"]:
                if d["dataset"] == dataset:
                    return d["sota"]["rows"]
    raise AssertionError("fixture changed")


def ask(engine: Engine, text: str, ctx: CommandContext = A) -> Message:
    """Answer a command and check the reply renders within both platforms' limits."""
    msg = handle(engine, CONFIG, ctx, text, charts=False)
    assert slack_problems(render_slack(msg)) == []
    assert discord_problems(render_discord(msg)) == []
    Message.from_dict(json.loads(json.dumps(msg.to_dict())))  # survives the outbox
    return msg


def _table(msg: Message) -> Table:
    return next(b for b in msg.blocks if isinstance(b, Table))


def _all_text(msg: Message) -> str:
    parts = [msg.text]
    for b in msg.blocks:
        if isinstance(b, Table):
            parts += [" ".join(r) for r in b.rows]
        elif isinstance(b, Fields):
            parts += [f"{k} {v}" for k, v in b.pairs]
        else:
            parts.append(getattr(b, "text", ""))
    return "\n".join(parts)


def _usage_of(msg: Message) -> str | None:
    ctx = [b.text for b in msg.blocks if isinstance(b, Context) and b.text.startswith("Usage:")]
    return ctx[0] if ctx else None


# --- sota -----------------------------------------------------------------------------------


def test_sota_ranks_a_lower_is_better_leaderboard_ascending_with_paper_and_code(
    db: Engine, fixture_files: FixtureFiles
) -> None:
    rows = _rows(fixture_files, "redditsota.json", "Language Modelling", "PTB")
    best = min(rows, key=lambda r: float(r["metrics"]["Perplexity"]))
    msg = ask(db, "language modelling on PTB")
    assert msg.kind == "reply" and not msg.ephemeral
    table = _table(msg)
    values = [float(r[2]) for r in table.rows]
    assert values == sorted(values) and len(values) == len(rows)
    assert table.rows[0][2] == best["metrics"]["Perplexity"]
    assert "lower is better" in _all_text(msg)
    assert best["code_links"][0]["url"] in _all_text(msg)


def test_sota_with_dataset_and_metric_ranks_by_that_metric(db: Engine, fixture_files: FixtureFiles) -> None:
    rows = _rows(fixture_files, "squad.json", "Question Answering", "SQuAD1.1")
    best = max(rows, key=lambda r: float(r["metrics"]["F1"]))
    msg = ask(db, "question answering on SQuAD1.1 by F1")
    table = _table(msg)
    assert table.columns[2] == "F1"
    assert float(table.rows[0][2]) == float(best["metrics"]["F1"])
    assert best["model_name"].split(" (")[0] in table.rows[0][1].replace("\\", "")


def test_bare_task_with_sota_prefix_and_slug_give_the_same_board(db: Engine) -> None:
    a, b, c = ask(db, "Language Modelling"), ask(db, "sota language modelling"), ask(db, "sota language-modelling")
    assert _table(a).rows == _table(b).rows == _table(c).rows


def test_a_loose_dataset_name_resolves_when_only_one_dataset_fits(db: Engine) -> None:
    msg = ask(db, "question answering on squad 1.1")
    assert msg.kind == "reply" and "SQuAD1.1" in _all_text(msg)


def test_a_dataset_that_fits_several_lists_them(db: Engine) -> None:
    msg = ask(db, "question answering on squad")
    assert msg.kind == "error"
    assert "SQuAD1.1" in msg.text and "SQuAD2.0" in msg.text
    assert _usage_of(msg) == f"Usage: `{USAGE['sota']}`"


def test_an_unknown_metric_lists_the_metrics_there_are(db: Engine) -> None:
    msg = ask(db, "language modelling on PTB by BLEU")
    assert msg.kind == "error" and "Perplexity" in msg.text


def test_a_typo_in_the_task_still_answers_and_says_what_it_read(db: Engine) -> None:
    msg = ask(db, "langauge modelling on PTB")
    assert msg.kind == "reply"
    assert "showing" in _all_text(msg)


def test_an_unknown_task_gets_suggestions_and_the_usage_line(db: Engine) -> None:
    msg = ask(db, "question answring xyz")
    assert msg.kind == "error" and msg.ephemeral
    assert "Did you mean" in msg.text and "Question Answering" in msg.text
    assert _usage_of(msg) == f"Usage: `{USAGE['sota']}`"


def test_nothing_like_a_task_points_to_search(db: Engine) -> None:
    msg = ask(db, "zzzzqqqq")
    assert msg.kind == "error" and "search" in msg.text


def test_the_reply_to_a_discord_user_shows_discord_usage(db: Engine) -> None:
    msg = ask(db, "on COCO", VIEWER)
    assert _usage_of(msg) == "Usage: `/sota task:TASK [dataset:DATASET] [metric:METRIC] [private:True]`"


def test_a_corrected_subcommand_says_how_it_was_read(db: Engine) -> None:
    msg = ask(db, "serach softmax")
    assert msg.kind == "reply"
    assert "(read `serach` as `search`)" in _all_text(msg)


def test_sota_attaches_the_chart_as_a_file_on_both_platforms(db: Engine) -> None:
    msg = handle(db, CONFIG, A, "question answering on SQuAD1.1", charts=True)
    [image] = [b for b in msg.blocks if isinstance(b, Image)]
    assert image.path and Path(image.path).stat().st_size > 0
    slack = render_slack(msg)
    assert slack[0]["files"][0]["path"] == image.path
    assert all(b["type"] != "image" for p in slack for b in p.get("blocks", []))
    discord = render_discord(msg)
    assert [f for p in discord for f in p.files] == [image.path]
    assert discord_problems(discord) == [] and slack_problems(slack) == []


# --- paper, search, trending, help ----------------------------------------------------------


def test_paper_by_arxiv_url_shows_its_leaderboard_results_and_code(db: Engine) -> None:
    msg = ask(db, "paper https://arxiv.org/pdf/1711.03953v2.pdf")
    text = _all_text(msg)
    assert "BREAKING THE SOFTMAX BOTTLENECK" in text
    assert "Language Modelling on PTB" in text and "47.69" in text
    assert "https://github.com/zihangdai/mos" in text


def test_unknown_or_malformed_papers_get_short_answers(db: Engine) -> None:
    assert ask(db, "paper 2999.99999").kind == "error"
    assert "not an arXiv id" in ask(db, "paper hello world").text
    assert _usage_of(ask(db, "paper")) == f"Usage: `{USAGE['paper']}`"


def test_search_finds_tasks_and_papers_by_title(db: Engine) -> None:
    text = _all_text(ask(db, "search softmax bottleneck"))
    assert "BREAKING THE SOFTMAX BOTTLENECK" in text
    assert "Question Answering" in _all_text(ask(db, "search question answering"))


def test_search_treats_like_wildcards_literally(db: Engine) -> None:
    assert "Nothing found" in ask(db, "search softmax%_bottleneck").text


def test_trending_without_signals_says_so(db: Engine) -> None:
    assert "No trending papers" in ask(db, "trending cs.cv").text
    assert ask(db, "trending cs.VVV").kind == "error"


def test_trending_lists_a_recent_paper_with_code(db: Engine) -> None:
    with session_scope(db) as s:
        paper = Paper(arxiv_id="2611.00001", title="A Fresh Segmenter", categories=["cs.CV"], primary_category="cs.CV",
                      published=datetime.now(UTC) - timedelta(days=1), hf_upvotes=40)
        repo = Repo(url="https://github.com/lab/fresh-seg", stars=900)
        s.add_all([paper, repo])
        s.flush()
        s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="abstract"))
    text = _all_text(ask(db, "trending cs.CV"))
    assert "A Fresh Segmenter" in text and "lab/fresh-seg" in text and "https://arxiv.org/abs/2611.00001" in text


def test_help_lists_every_command_and_help_on_one_command_gives_examples(db: Engine) -> None:
    text = _all_text(ask(db, "help"))
    assert all(u in text for u in USAGE.values())
    one = _all_text(ask(db, "help digest"))
    assert USAGE["digest"] in one and "Europe/Berlin" in one
    assert ask(db, "").blocks == ask(db, "help").blocks


# --- subscriptions and isolation ------------------------------------------------------------


def _subs(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Channel, Subscription).join(Subscription, Subscription.channel_id == Channel.id)).all()
        return sorted((c.workspace, c.channel, sub.kind, sub.target) for c, sub in rows)


def test_subscribe_resolves_the_task_and_stores_its_slug(db: Engine) -> None:
    msg = ask(db, "subscribe question answering")
    assert msg.kind == "reply" and "now follows **Question Answering**" in msg.text
    assert _subs(db) == [("E1:T-A", "C-general", "task", "question-answering")]
    assert "already follows" in ask(db, "subscribe question-answering").text


def test_subscribe_to_categories_and_keywords(db: Engine) -> None:
    ask(db, "subscribe category:cs.cl")
    ask(db, 'subscribe keyword:"Reading  Comprehension"')
    assert _subs(db) == [
        ("E1:T-A", "C-general", "category", "cs.CL"),
        ("E1:T-A", "C-general", "keyword", "reading comprehension"),
    ]
    text = _all_text(ask(db, "subscriptions"))
    assert "cs.CL" in text and "reading comprehension" in text


def test_subscribing_to_an_unknown_task_stores_nothing(db: Engine) -> None:
    msg = ask(db, "subscribe qqqq zzzz")
    assert msg.kind == "error" and _usage_of(msg) == f"Usage: `{USAGE['subscribe']}`"
    assert _subs(db) == []


def test_a_member_without_manage_permission_cannot_change_subscriptions_or_digest(db: Engine) -> None:
    for text in ("subscribe question answering", "unsubscribe all", "digest on", "digest at 08:00",
                 "digest categories cs.CV", "digest keywords diffusion"):
        msg = ask(db, text, VIEWER)
        assert msg.kind == "error" and "Manage Channels" in msg.text, text
    assert _subs(db) == []
    with Session(db) as s:
        assert s.exec(select(Channel)).all() == []
    assert ask(db, "subscriptions", VIEWER).kind == "reply"
    assert ask(db, "digest", VIEWER).kind == "reply"
    assert ask(db, "digest preview", VIEWER).kind != "error"


def test_workspace_b_never_sees_or_changes_what_workspace_a_set(db: Engine) -> None:
    ask(db, "subscribe question answering", A)
    ask(db, "digest at 07:15 Asia/Tokyo", A)
    ask(db, "digest on", A)
    b_view = _all_text(ask(db, "subscriptions", B))
    assert "Question Answering" not in b_view and "Asia/Tokyo" not in b_view and "off" in b_view
    assert ask(db, "unsubscribe question answering", B).kind == "error"
    ask(db, "unsubscribe all", B)
    ask(db, "digest off", B)
    assert _subs(db) == [("E1:T-A", "C-general", "task", "question-answering")]
    with Session(db) as s:
        a = s.exec(select(Channel).where(Channel.workspace == "E1:T-A")).one()
        assert (a.digest_enabled, a.digest_time, a.timezone) == (True, "07:15", "Asia/Tokyo")
    assert "Asia/Tokyo" in _all_text(ask(db, "subscriptions", A))


def test_unsubscribe_by_name_slug_or_typo(db: Engine) -> None:
    ask(db, "subscribe question answering")
    ask(db, "subscribe language modelling")
    assert "no longer follows" in ask(db, "unsubscribe question-answering").text
    assert "no longer follows" in ask(db, "unsubscribe Language Modelling").text
    assert _subs(db) == []
    assert ask(db, "unsubscribe category:cs.CV").kind == "error"


def test_unsubscribe_all_clears_only_this_channel(db: Engine) -> None:
    other = CommandContext("slack", "E1:T-A", "C-random")
    ask(db, "subscribe question answering")
    ask(db, "subscribe cs.CV")
    ask(db, "subscribe cs.CV", other)
    assert "Removed all 2" in _all_text(ask(db, "unsubscribe all"))
    assert _subs(db) == [("E1:T-A", "C-random", "category", "cs.CV")]


# --- digest ---------------------------------------------------------------------------------


def test_digest_time_zone_and_switches(db: Engine) -> None:
    assert "09:30 Europe/Berlin" in ask(db, "digest at 9:30 Europe/Berlin").text
    assert "on" in ask(db, "digest on").text
    ask(db, "digest categories cs.CV, cs.LG")
    ask(db, 'digest keywords "vision transformer" segmentation')
    with Session(db) as s:
        ch = s.exec(select(Channel)).one()
        assert (ch.digest_time, ch.timezone, ch.digest_enabled) == ("09:30", "Europe/Berlin", True)
        assert ch.categories == ["cs.CV", "cs.LG"] and ch.keywords == ["vision transformer", "segmentation"]
    ask(db, "digest categories none")
    ask(db, "digest off")
    with Session(db) as s:
        ch = s.exec(select(Channel)).one()
        assert ch.categories == [] and ch.digest_enabled is False


def test_digest_bad_zone_suggests_and_bad_time_explains(db: Engine) -> None:
    msg = ask(db, "digest at 09:00 Europe/Berln")
    assert msg.kind == "error" and "Did you mean Europe/Berlin?" in msg.text
    assert _usage_of(msg) == f"Usage: `{USAGE['digest']}`"
    assert "HH:MM" in ask(db, "digest at 25:61").text
    with Session(db) as s:
        assert s.exec(select(Channel)).all() == []


def test_digest_preview_posts_nothing(db: Engine) -> None:
    msg = ask(db, "digest preview")
    assert msg.ephemeral and "Preview only" in _all_text(msg)


# --- robustness ---------------------------------------------------------------------------


def test_a_broken_database_gets_an_apology_not_a_traceback(tmp_path: Path) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")  # never migrated
    for text in ("object detection", "subscribe x", "subscriptions", "search abc", "paper 1706.03762"):
        msg = handle(empty, CONFIG, A, text, charts=False)
        assert msg.kind == "error" and "went wrong" in msg.text


def test_a_context_without_a_channel_cannot_subscribe(db: Engine) -> None:
    msg = ask(db, "subscribe cs.CV", CommandContext("slack", "T1", ""))
    assert msg.kind == "error"
    assert _subs(db) == []


# --- autocomplete ---------------------------------------------------------------------------


def test_task_autocomplete_returns_at_most_25_name_slug_pairs_prefix_matches_first(db: Engine) -> None:
    with session_scope(db) as s:
        s.add_all(Task(slug=f"a-variant-{i:02d}", name=f"A Variant {i:02d}") for i in range(40))
    invalidate(db)
    pairs = complete_task(db, "", 25)
    assert len(pairs) == 25
    assert all(len(name) <= 100 and len(slug) <= 100 for name, slug in pairs)
    assert len(complete_task(db, "variant", 100)) == 25
    names = [n for n, _ in complete_task(db, "lang", 25)]
    assert names[0] == "Language Modelling"
    names = [n for n, _ in complete_task(db, "ans", 25)]
    # word starts before inner matches, more results first
    assert names == ["Question Answering", "Visual Question Answering", "Machine Translation"]


def test_task_autocomplete_matches_word_prefixes_in_order(db: Engine) -> None:
    assert [n for n, _ in complete_task(db, "lang mod")] == ["Language Modelling"]
    assert [n for n, _ in complete_task(db, "quest ans")] == ["Question Answering", "Visual Question Answering"]
    assert [n for n, _ in complete_task(db, "vis ans")] == ["Visual Question Answering"]
    assert complete_task(db, "ans quest") == []  # words in order
    assert complete_task(db, "qqqzzz") == []


def test_task_autocomplete_forgives_a_typo_when_nothing_matches(db: Engine) -> None:
    assert [n for n, _ in complete_task(db, "langauge")] == ["Language Modelling", "Natural Language Inference"]
    assert ("Machine Translation", "machine-translation") in complete_task(db, "machne translaton")


def test_task_autocomplete_knows_aliases(db: Engine) -> None:
    with session_scope(db) as s:
        task = s.exec(select(Task).where(Task.slug == "machine-translation")).one()
        s.add(TaskAlias(alias="zz nmt neural translation", task_id=task.id, source="curated"))
    invalidate(db)
    assert complete_task(db, "zz nmt") == [("Machine Translation", "machine-translation")]


def test_dataset_autocomplete_lists_the_tasks_datasets(db: Engine) -> None:
    assert set(complete_dataset(db, "question-answering", "squad")) == {"SQuAD1.1", "SQuAD2.0"}
    assert len(complete_dataset(db, "question answering", "")) <= 25
    assert complete_dataset(db, "no such task at all qq", "") == []


def test_dataset_autocomplete_and_sota_agree_as_soon_as_a_benchmark_lands(db: Engine) -> None:
    """One task index, one staleness rule: the choices Discord offers come from the snapshot `/sota` answers from."""
    assert complete_dataset(db, "question-answering", "zz") == []  # asked once: what it knows is kept
    with session_scope(db) as s:
        task = s.exec(select(Task).where(Task.slug == "question-answering")).one()
        data = Data(s)
        data.row(data.bench(task, "ZZ QA Bench", [("ZZ F1", "higher")]), "ZZ Reader", {"ZZ F1": 99.0})
    assert complete_dataset(db, "question-answering", "zz") == ["ZZ QA Bench"]
    answer = ask(db, "question answering on ZZ QA Bench")
    assert answer.text.startswith("State of the art on Question Answering \\(ZZ QA Bench")


def test_subscriptions_listing_is_within_limits_with_many_entries(db: Engine) -> None:
    for i in range(40):
        ask(db, f'subscribe keyword:"topic number {i} ' + "w" * 60 + '"')
    msg = ask(db, "subscriptions")
    assert "topic number 39" in _all_text(msg)


def test_replies_keep_user_text_literal(db: Engine) -> None:
    msg = ask(db, "**bold** [x](https://evil.example) <!channel>")
    assert msg.kind == "error"
    slack = render_slack(msg)[0]["blocks"][0]["text"]["text"]
    # shown, not formatted or linked: Slack has no escapes, so the stars that would bold are look-alikes
    assert "∗∗bold∗∗ [x](https://evil.example) &lt;!channel&gt;" in slack
    assert "<https://evil.example" not in slack and "<!channel>" not in json.dumps(render_slack(msg))
    discord = render_discord(msg)[0].embeds[0].description
    assert "\\*\\*bold\\*\\* \\[x\\](https://evil.example)" in discord


def test_sections_never_exceed_what_a_user_typed_by_much(db: Engine) -> None:
    msg = ask(db, "x" * 900)
    assert msg.kind == "error"
    assert all(len(b.text) < 400 for b in msg.blocks if isinstance(b, Section))
