"""Block Kit rendering: every payload within Slack's limits, mrkdwn translated and escaped."""

from __future__ import annotations

import re

from sotabot.bot.render.slack import render_slack
from sotabot.digests.message import Context, Divider, Fields, Header, Image, Message, Section, Table
from tests.bot.platform_limits import SLACK, slack_problems, slack_texts


def test_bold_and_links_become_slack_mrkdwn() -> None:
    [payload] = render_slack(Message("x", [Section("**Top** model: [ViT](https://arxiv.org/abs/2010.11929)")]))
    assert payload["blocks"][0]["text"] == {
        "type": "mrkdwn",
        "text": "*Top* model: <https://arxiv.org/abs/2010.11929|ViT>",
    }


def test_ampersand_and_angle_brackets_are_escaped_so_user_text_cannot_ping_the_channel() -> None:
    [payload] = render_slack(Message("a <!channel> & b", [Section("R&D <!channel> <@U123> a>b")]))
    text = payload["blocks"][0]["text"]["text"]
    assert text == "R&amp;D &lt;!channel&gt; &lt;@U123&gt; a&gt;b"
    assert "<!channel>" not in payload["text"]


def test_link_urls_with_pipes_or_brackets_stay_one_link() -> None:
    [payload] = render_slack(Message("x", [Section("[a|b>](https://example.org/x|z>w)")]))
    text = payload["blocks"][0]["text"]["text"]
    assert text.count("<") == 1 and text.count(">") == 1
    assert text.startswith("<https://example.org/x%7Cz%3Ew|a")


def test_header_is_plain_text_cut_to_150_characters() -> None:
    [payload] = render_slack(Message("x", [Header("**Very** long " + "w" * 400)]))
    header = payload["blocks"][0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) == SLACK["header_text"]
    assert header["text"]["text"].startswith("Very long") and header["text"]["text"].endswith("…")


def test_long_section_is_split_over_sections_at_line_breaks() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)]
    [payload] = render_slack(Message("x", [Section("\n".join(lines))]))
    texts = slack_texts([payload])
    assert len(texts) > 3
    assert all(len(t) <= SLACK["section_text"] for t in texts)
    assert "\n".join(texts) == "\n".join(lines)  # nothing lost, cuts only between lines


def test_one_huge_line_is_split_without_cutting_a_link() -> None:
    links = " ".join(f"[paper {i}](https://arxiv.org/abs/2401.{i:05d})" for i in range(300))
    payloads = render_slack(Message("x", [Section(links)]))
    assert slack_problems(payloads) == []
    texts = slack_texts(payloads)
    assert len(texts) > 1
    for t in texts:
        assert t.count("<") == t.count(">")  # every link whole inside its section
    assert sum(len(re.findall(r"<https://arxiv.org/abs/2401\.\d{5}\|paper \d+>", t)) for t in texts) == 300


def test_more_than_50_blocks_become_several_messages_each_with_a_fallback_text() -> None:
    msg = Message("Digest for today", [Section(f"paper {i}") for i in range(130)])
    payloads = render_slack(msg)
    assert len(payloads) == 3
    assert [len(p["blocks"]) for p in payloads] == [50, 50, 30]
    assert all(p["text"].startswith("Digest for today") for p in payloads)
    assert slack_problems(payloads) == []


def test_fields_are_grouped_ten_per_section_and_cut_to_2000_characters() -> None:
    pairs = [(f"label {i}", "v" * 2500) for i in range(23)]
    payloads = render_slack(Message("x", [Fields(pairs)]))
    sections = payloads[0]["blocks"]
    assert [len(s["fields"]) for s in sections] == [10, 10, 3]
    assert all(len(f["text"]) <= SLACK["field_text"] for s in sections for f in s["fields"])
    assert sections[0]["fields"][0]["text"].startswith("*label 0*\n")


def test_table_is_an_aligned_code_block_with_links_shown_as_text() -> None:
    rows = [["1", "[Co-DETR](https://x.org)", "66.0"], ["10", "DINO", "63.3"]]
    table = Table(columns=["#", "Model", "AP"], rows=rows, align=["r", "l", "r"])
    [payload] = render_slack(Message("x", [table]))
    text = payload["blocks"][0]["text"]["text"]
    assert text.startswith("```\n") and text.endswith("\n```")
    lines = text.strip("`\n").split("\n")
    assert lines[2] == " 1  Co-DETR  66.0"
    assert lines[3] == "10  DINO     63.3"
    assert len({len(line) for line in (lines[0], lines[2], lines[3])}) == 1


def test_a_table_too_long_for_one_section_repeats_its_header_in_the_next() -> None:
    rows = [[str(i), f"model number {i} " + "z" * 30, f"{i}.0"] for i in range(200)]
    payloads = render_slack(Message("x", [Table(columns=["#", "Model", "Score"], rows=rows)]))
    assert slack_problems(payloads) == []
    texts = slack_texts(payloads)
    assert len(texts) > 2
    assert all(t.split("\n")[1].startswith("#") for t in texts)


def test_a_code_fence_inside_a_cell_cannot_close_the_table_block() -> None:
    [payload] = render_slack(Message("x", [Table(columns=["a"], rows=[["```evil```"]])]))
    assert payload["blocks"][0]["text"]["text"].count("```") == 2


def test_local_image_is_a_file_marker_never_an_image_block() -> None:
    payloads = render_slack(Message("x", [Section("chart"), Image(alt="SOTA over time", path="/tmp/c.png")]))
    assert payloads[0]["files"] == [{"type": "file", "path": "/tmp/c.png", "alt": "SOTA over time"}]
    assert all(b["type"] != "image" for p in payloads for b in p.get("blocks", []))


def test_public_image_url_is_an_image_block() -> None:
    [payload] = render_slack(Message("x", [Image(alt="chart", url="https://example.org/c.png")]))
    assert payload["blocks"] == [{"type": "image", "image_url": "https://example.org/c.png", "alt_text": "chart"}]


def test_message_without_blocks_still_has_a_section_and_text() -> None:
    [payload] = render_slack(Message("just **text**"))
    assert payload["text"] == "just *text*"
    assert payload["blocks"][0]["text"]["text"] == "just *text*"


def test_empty_message_has_a_non_empty_fallback() -> None:
    payloads = render_slack(Message("", [Divider(), Header("   ")]))
    assert slack_problems(payloads) == []


def test_context_lines_are_split_within_limits() -> None:
    payloads = render_slack(Message("x", [Context("note " * 2000)]))
    assert slack_problems(payloads) == []


def test_error_message_shows_its_usage_line() -> None:
    [payload] = render_slack(Message.error("Which task?", "/sota TASK [on DATASET]"))
    assert payload["blocks"][1]["elements"][0]["text"] == "Usage: `/sota TASK [on DATASET]`"


def test_a_cut_field_drops_a_link_that_does_not_fit_whole() -> None:
    value = "x " * 995 + "[paper](https://arxiv.org/abs/2401.00001) tail"
    [payload] = render_slack(Message("x", [Fields([("", value)])]))
    text = payload["blocks"][0]["fields"][0]["text"]
    assert len(text) <= SLACK["field_text"] and text.endswith("…")
    assert text.count("<") == text.count(">")  # the link is whole or absent, never half
