"""Parsing `/sota` text: subcommands, quotes, typos, targets, digest settings, never raising."""

from __future__ import annotations

import pytest

from sotabot.bot.commands.parser import (
    ARXIV_CATEGORIES,
    MAX_COMMAND_CHARS,
    USAGE,
    DigestCommand,
    ParsedCommand,
    ParseError,
    SotaQuery,
    Target,
    parse,
    parse_arxiv_id,
    parse_digest,
    parse_sota,
    parse_target,
    parse_time,
    resolve_timezone,
    tokenize,
)


def _parsed(text: str) -> ParsedCommand:
    result = parse(text)
    assert isinstance(result, ParsedCommand), result
    return result


def test_quotes_group_words_and_apostrophes_inside_words_are_literal() -> None:
    words = [t.text for t in tokenize('subscribe "graph neural" alzheimer\'s “smart quotes” \'single\'')]
    assert words == ["subscribe", "graph neural", "alzheimer's", "smart quotes", "single"]


def test_unbalanced_quote_runs_to_the_end_instead_of_raising() -> None:
    assert [t.text for t in tokenize('search "open ended')] == ["search", "open ended"]
    assert [t.text for t in tokenize('"')] == []


def test_quote_after_a_colon_belongs_to_the_same_token() -> None:
    [tok] = tokenize('keyword:"state space"')
    assert tok.text == "keyword:state space" and not tok.quoted


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("paper 1706.03762", "paper"), ("trending", "trending"), ("search seg", "search"),
        ("subscribe x", "subscribe"), ("unsubscribe x", "unsubscribe"), ("subscriptions", "subscriptions"),
        ("digest on", "digest"), ("help", "help"), ("HELP", "help"), ("sota x", "sota"), ("sub x", "subscribe"),
        ("unsub x", "unsubscribe"), ("subs", "subscriptions"), ("", "help"), ("   ", "help"),
    ],
)
def test_subcommands_and_aliases(text: str, name: str) -> None:
    assert _parsed(text).name == name


def test_anything_else_is_a_sota_query_on_the_whole_text() -> None:
    cmd = _parsed("object detection on COCO")
    assert cmd.name == "sota" and cmd.implicit and cmd.rest == "object detection on COCO"


@pytest.mark.parametrize(
    ("typo", "name"),
    [("subscibe", "subscribe"), ("subsribe", "subscribe"), ("trendng", "trending"), ("dgiest", "digest"),
     ("serach", "search"), ("papr", "paper"), ("subscriptons", "subscriptions"), ("unsubscirbe", "unsubscribe")],
)
def test_typos_of_subcommands_are_read_as_the_subcommand(typo: str, name: str) -> None:
    cmd = _parsed(f"{typo} something")
    assert (cmd.name, cmd.corrected_from, cmd.rest) == (name, typo, "something")


def test_task_words_near_a_subcommand_are_not_corrected() -> None:
    for text in ("reading comprehension", "speech recognition", "pose estimation", "depth estimation"):
        assert _parsed(text).name == "sota"


def test_ambiguous_typo_asks_which_one() -> None:
    result = parse("subscri x")
    assert isinstance(result, ParseError)
    assert "subscribe" in result.message and "subscriptions" in result.message


def test_overlong_input_is_refused_with_a_short_message() -> None:
    result = parse("x" * (MAX_COMMAND_CHARS + 1))
    assert isinstance(result, ParseError) and "too long" in result.message
    assert isinstance(parse("y " * 20_000), ParseError)


def test_control_characters_and_nul_bytes_are_dropped() -> None:
    cmd = _parsed("search\x00 seg\x07ment\u200bation\r\n")
    assert cmd.rest == "seg mentation"


def test_a_leading_repeated_slash_sota_is_ignored() -> None:
    assert _parsed("/sota subscribe x").name == "subscribe"
    assert _parsed("/help").name == "help"


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("object detection", SotaQuery("object detection")),
        ("object detection on COCO test-dev", SotaQuery("object detection", "COCO test-dev")),
        ("question answering on SQuAD1.1 by F1", SotaQuery("question answering", "SQuAD1.1", "F1")),
        ("lm by perplexity on PTB", SotaQuery("lm", "PTB", "perplexity")),
        ('"learning on graphs" on Cora', SotaQuery("learning on graphs", "Cora")),
        ("nli --dataset SNLI --metric accuracy", SotaQuery("nli", "SNLI", "accuracy")),
        ("nli dataset:SNLI metric:accuracy", SotaQuery("nli", "SNLI", "accuracy")),
        ('qa on "Dataset by Someone"', SotaQuery("qa", "Dataset by Someone")),
    ],
)
def test_sota_task_on_dataset_by_metric(text: str, query: SotaQuery) -> None:
    assert parse_sota(_parsed(f"sota {text}").tokens) == query


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("object detection private", SotaQuery("object detection", private=True)),
        ("object detection on COCO by AP private", SotaQuery("object detection", "COCO", "AP", private=True)),
        ("--private object detection", SotaQuery("object detection", private=True)),
        ('"object detection" PRIVATE', SotaQuery("object detection", private=True)),
        ('object detection on "Kaggle private"', SotaQuery("object detection", "Kaggle private")),  # quoted: a name
        ("private", SotaQuery("private")),  # alone it is the task asked for
    ],
)
def test_sota_private_asks_for_an_answer_only_the_asker_sees(text: str, query: SotaQuery) -> None:
    assert parse_sota(_parsed(f"sota {text}").tokens) == query
    assert "[private]" in USAGE["sota"]


@pytest.mark.parametrize("text", ["on COCO", "object detection on", "object detection by", "by AP"])
def test_sota_missing_parts_get_a_usage_answer(text: str) -> None:
    result = parse_sota(_parsed(f"sota {text}").tokens)
    assert isinstance(result, ParseError) and result.command == "sota"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("semantic segmentation", Target("task", "semantic segmentation")),
        ("category:cs.cv", Target("category", "cs.CV")),
        ("cat:stat.ml", Target("category", "stat.ML")),
        ("category cs.LG", Target("category", "cs.LG")),
        ("cs.CL", Target("category", "cs.CL")),
        ("quant-ph", Target("category", "quant-ph")),
        ('keyword:"State  Space Models"', Target("keyword", "state space models")),
        ("keyword diffusion", Target("keyword", "diffusion")),
        ("task:nli", Target("task", "nli")),
    ],
)
def test_subscription_targets(text: str, target: Target) -> None:
    assert parse_target(_parsed(f"subscribe {text}").tokens, "subscribe") == target


def test_all_is_a_target_only_for_unsubscribe() -> None:
    assert parse_target(_parsed("unsubscribe all").tokens, "unsubscribe") == Target("all", "all")
    assert parse_target(_parsed("subscribe all").tokens, "subscribe") == Target("task", "all")


def test_unknown_category_suggests_the_closest() -> None:
    result = parse_target(_parsed("subscribe category:cs.VC").tokens, "subscribe")
    assert isinstance(result, ParseError) and "not an arXiv category" in result.message
    assert "cs.CV" in result.message or "cs.SC" in result.message


def test_empty_and_tiny_targets_are_usage_errors() -> None:
    for text in ("subscribe", "subscribe keyword:", "subscribe keyword:a", "subscribe category:"):
        assert isinstance(parse_target(_parsed(text).tokens, "subscribe"), ParseError)


def test_arxiv_category_list_has_the_usual_ml_categories() -> None:
    for cat in ("cs.CV", "cs.LG", "cs.CL", "cs.AI", "stat.ML", "eess.IV", "cs.RO"):
        assert cat in ARXIV_CATEGORIES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:30", "09:30"), ("09:30", "09:30"), ("00:00", "00:00"), ("23:59", "23:59"), ("9am", "09:00"),
        ("12am", "00:00"), ("12pm", "12:00"), ("9:15pm", "21:15"), ("21h00", "21:00"), ("9.30", "09:30"),
        ("24:00", None), ("12:60", None), ("9", None), ("13pm", None), ("noon", None), ("-1:00", None), ("", None),
    ],
)
def test_times_of_day(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


def test_time_zones_resolve_by_name_or_city_and_typos_get_a_suggestion() -> None:
    assert resolve_timezone("Europe/Berlin") == ("Europe/Berlin", None)
    assert resolve_timezone("europe/berlin") == ("Europe/Berlin", None)
    assert resolve_timezone("Berlin") == ("Europe/Berlin", None)
    assert resolve_timezone("utc") == ("UTC", None)
    assert resolve_timezone("Europe/Berln") == (None, "Europe/Berlin")
    assert resolve_timezone("Mars/Olympus_Mons")[0] is None


def test_digest_settings() -> None:
    def digest(text: str) -> DigestCommand | ParseError:
        return parse_digest(_parsed(f"digest {text}").tokens)

    assert digest("") == DigestCommand("show")
    assert digest("on") == DigestCommand("on")
    assert digest("off") == DigestCommand("off")
    assert digest("preview") == DigestCommand("preview")
    assert digest("at 8:30") == DigestCommand("at", time="08:30")
    assert digest("at 8:30 America/New_York") == DigestCommand("at", time="08:30", timezone="America/New_York")
    assert digest("at 8:30 new york") == DigestCommand("at", time="08:30", timezone="America/New_York")
    assert digest("at 9 am Europe/Berlin") == DigestCommand("at", time="09:00", timezone="Europe/Berlin")
    assert digest("09:00") == DigestCommand("at", time="09:00")
    assert digest("timezone Asia/Tokyo") == DigestCommand("timezone", timezone="Asia/Tokyo")
    assert digest("categories cs.cv, cs.LG cs.CV") == DigestCommand("categories", values=("cs.CV", "cs.LG"))
    keywords = DigestCommand("keywords", values=("graph neural", "diffusion"))
    assert digest('keywords "Graph Neural", diffusion') == keywords
    assert digest("keywords none") == DigestCommand("keywords", clear=True)
    assert digest("categries cs.CV") == DigestCommand("categories", values=("cs.CV",))


def test_digest_bad_time_and_zone_answers_say_what_to_type() -> None:
    bad_time = parse_digest(_parsed("digest at 25:00").tokens)
    assert isinstance(bad_time, ParseError) and "HH:MM" in bad_time.message
    bad_zone = parse_digest(_parsed("digest at 09:00 Europe/Berln").tokens)
    assert isinstance(bad_zone, ParseError) and "Did you mean Europe/Berlin?" in bad_zone.message
    assert isinstance(parse_digest(_parsed("digest on please").tokens), ParseError)
    assert isinstance(parse_digest(_parsed("digest whatever").tokens), ParseError)
    assert isinstance(parse_digest(_parsed("digest categories cs.XX").tokens), ParseError)
    assert isinstance(parse_digest(_parsed("digest at").tokens), ParseError)


@pytest.mark.parametrize(
    ("text", "arxiv_id"),
    [
        ("1706.03762", "1706.03762"), ("arXiv:2411.17700v2", "2411.17700"),
        ("https://arxiv.org/abs/2411.17700v2", "2411.17700"), ("https://arxiv.org/pdf/2411.17700v1.pdf", "2411.17700"),
        ("cs/9301114", "cs/9301114"), ("hep-th/9901001v3", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"), ("not an id", None), ("12345", None),
    ],
)
def test_arxiv_ids_from_ids_and_urls(text: str, arxiv_id: str | None) -> None:
    assert parse_arxiv_id(text) == arxiv_id
