"""Leaderboard cells become numbers when they hold one; paper URLs give versionless arXiv ids;
repository URLs have one spelling."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sotabot.sources.normalise.repo_urls import normalise_repo_url
from sotabot.sources.normalise.values import (
    arxiv_id_from_url,
    arxiv_month,
    find_arxiv_url,
    normalise_arxiv_id,
    parse_value,
    raw_text,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("80.3%", 80.3),
        ("0.8428 ± 0.0014", 0.8428),
        ("0.25±0.005", 0.25),
        ("2.53 ± 0.40", 2.53),
        ("220k", 220_000.0),
        ("3.0m", 3_000_000.0),
        ("15m", 15_000_000.0),
        ("1.2M", 1_200_000.0),
        ("3B", 3_000_000_000.0),
        ("2179678", 2_179_678.0),
        ("1,234.5", 1234.5),
        ("12,345,678", 12_345_678.0),
        ("-0.5", -0.5),
        ("−1.5", -1.5),  # Unicode minus
        ("+3", 3.0),
        ("1e-3", 0.001),
        ("4.25", 4.25),
        (" 17.3 ", 17.3),
        ("\ufeff90.2", 90.2),
        ("**85.2**", 85.2),
        ("99.9*", 99.9),
        ("39.9+", 39.9),
        ("~650M", 650_000_000.0),
        (12, 12.0),
        (3.25, 3.25),
        (Decimal("80.3"), 80.3),
    ],
)
def test_a_cell_holding_one_number_parses_to_it(raw, expected):
    assert parse_value(raw) == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw",
    [
        None, "", "-", "--", "---", "−", "–", "N/A", "?", "nan",
        "(32.76 32.07)", "(32.76 32.07 26.26 22.74)", "99.9/99.9", "Please tell us", "Yes",
        "12 ms", "5k%", "0,85", "1.2.3", "99.99 (measured by Ge et al., 2019)", True, float("nan"), float("inf"),
    ],
)
def test_a_missing_or_compound_cell_has_no_value(raw):
    assert parse_value(raw) is None


def test_the_raw_text_keeps_what_the_archive_wrote():
    assert raw_text(Decimal("0.10")) == "0.10"
    assert raw_text("0.8428 ± 0.0014") == "0.8428 ± 0.0014"
    assert raw_text(None) == ""
    assert raw_text(72) == "72"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_any_plain_number_survives_a_round_trip(x):
    assert parse_value(repr(x)) == pytest.approx(x)
    assert parse_value(f"{x:.4f}") == pytest.approx(round(x, 4), abs=1e-9)


@given(st.text(max_size=40))
def test_no_string_makes_the_parser_fail(text):
    value = parse_value(text)
    assert value is None or math.isfinite(value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/abs/2411.17700", "2411.17700"),
        ("https://arxiv.org/abs/2411.17700v2", "2411.17700"),
        ("http://arxiv.org/abs/1805.10616v4", "1805.10616"),
        ("https://arxiv.org/pdf/1711.00043.pdf", "1711.00043"),
        ("http://arxiv.org/pdf/1711.10485v1.pdf", "1711.10485"),
        ("https://arxiv.org/pdf/1711.10485v3", "1711.10485"),
        ("https://export.arxiv.org/abs/1601.02063v2", "1601.02063"),
        ("https://www.arxiv.org/abs/0704.0001", "0704.0001"),
        ("arxiv.org/abs/2411.17700", "2411.17700"),
        ("https://arxiv.org/abs/2411.17700?context=cs.CV", "2411.17700"),
        ("https://arxiv.org/abs/cs/9301114", "cs/9301114"),
        ("http://arxiv.org/abs/cond-mat/0412498v1", "cond-mat/0412498"),
        ("https://arxiv.org/abs/hep-ph/9206214v2", "hep-ph/9206214"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
        (" https://arxiv.org/abs/2411.17700v1 ", "2411.17700"),
    ],
)
def test_an_arxiv_url_gives_the_id_without_version(url, expected):
    assert arxiv_id_from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None, "", "https://www.aclweb.org/anthology/P19-1001.pdf", "https://openreview.net/forum?id=abc",
        "https://arxiv.org/list/cs.CV/recent", "https://paperswithcode.com/paper/attngan", "not a url",
        "https://notarxiv.org/abs/2411.17700",
    ],
)
def test_other_urls_have_no_arxiv_id(url):
    assert arxiv_id_from_url(url) is None


def test_a_bare_id_loses_its_version_too():
    assert normalise_arxiv_id("1601.02063v2") == "1601.02063"
    assert normalise_arxiv_id("arXiv:2411.17700") == "2411.17700"
    assert normalise_arxiv_id("cs/9301114v1") == "cs/9301114"
    assert normalise_arxiv_id("https://arxiv.org/abs/1810.10559v5") == "1810.10559"
    assert normalise_arxiv_id(None) is None
    assert normalise_arxiv_id("hello") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/LeonGeiger/Kerr", "https://github.com/leongeiger/kerr"),
        ("http://github.com/roatienza/densemapnet/", "https://github.com/roatienza/densemapnet"),
        ("https://www.github.com/Owner/Repo.git", "https://github.com/owner/repo"),
        ("github.com/owner/repo", "https://github.com/owner/repo"),
        ("git@github.com:Owner/Repo.git", "https://github.com/owner/repo"),
        ("https://github.com/owner/repo/tree/master/src", "https://github.com/owner/repo"),
        ("https://github.com/owner/repo#readme", "https://github.com/owner/repo"),
        ("(https://github.com/owner/repo).", "https://github.com/owner/repo"),
        ("https://github.com/owner/my.repo-v2", "https://github.com/owner/my.repo-v2"),
        ("https://gitlab.com/Group/Project", "https://gitlab.com/group/project"),
        ("https://bitbucket.org/team/tool", "https://bitbucket.org/team/tool"),
    ],
)
def test_a_repository_url_has_one_spelling(url, expected):
    assert normalise_repo_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None, "", "https://github.com/owner", "https://github.com/", "https://gist.github.com/owner/abc",
        "https://owner.github.io/project", "https://github.com/topics/vision", "https://github.com/orgs/x/people",
        "https://example.com/owner/repo", "https://github.com/features/actions",
    ],
)
def test_what_is_not_a_repository_gives_none(url):
    assert normalise_repo_url(url) is None


def test_an_arxiv_url_inside_other_text_is_found():
    text = "(Singapore Management University) https://arxiv.org/abs/1608.07905"
    assert find_arxiv_url(text) == ("https://arxiv.org/abs/1608.07905", "1608.07905")
    assert find_arxiv_url("see arxiv.org/pdf/1711.00043v2.pdf.") == ("arxiv.org/pdf/1711.00043v2.pdf", "1711.00043")
    assert find_arxiv_url("https://aclweb.org/anthology/P18-1") is None
    assert find_arxiv_url(None) is None


@pytest.mark.parametrize(
    ("arxiv_id", "month"),
    [
        ("2411.17700", date(2024, 11, 1)),
        ("2203.03605v3", date(2022, 3, 1)),
        ("0704.0001", date(2007, 4, 1)),
        ("cs/9301114", date(1993, 1, 1)),
        ("hep-ph/0112017", date(2001, 12, 1)),
        ("2413.00001", None),
        ("not-an-id", None),
        (None, None),
    ],
)
def test_an_arxiv_id_tells_the_month_the_paper_appeared(arxiv_id, month):
    assert arxiv_month(arxiv_id) == month


def test_only_links_to_papers_count_as_the_paper():
    from sotabot.sources.normalise.values import is_paper_url

    for url in ("https://arxiv.org/abs/2203.03605", "https://doi.org/10.1145/1", "https://openreview.net/forum?id=x",
                "https://aclanthology.org/P19-1.pdf", "https://proceedings.neurips.cc/paper/2020/x",
                "http://www.anthology.aclweb.org/W/W14/W14-33.pdf", "https://example.edu/~me/paper.pdf"):
        assert is_paper_url(url), url
    for url in ("http://tia.today", "https://github.com/a/b", "https://blog.example.com/post", "", None):
        assert not is_paper_url(url), url
