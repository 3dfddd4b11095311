"""Discord rendering: real discord.Embed objects within every limit, Markdown escaped."""

from __future__ import annotations

import discord

from sotabot.bot.render.discord import DiscordPayload, render_discord
from sotabot.digests.message import Context, Fields, Header, Image, Message, Section, Table
from tests.bot.platform_limits import DISCORD, discord_problems


def _one_embed(msg: Message) -> discord.Embed:
    [payload] = render_discord(msg)
    [embed] = payload.embeds
    return embed


def test_header_section_and_trailing_context_become_title_description_and_footer() -> None:
    embed = _one_embed(Message("x", [Header("Object Detection"), Section("**COCO** by AP"), Context("Data: PwC")]))
    assert isinstance(embed, discord.Embed)
    assert embed.title == "Object Detection"
    assert embed.description == "**COCO** by AP"
    assert embed.footer.text == "Data: PwC"


def test_model_names_with_markdown_characters_are_escaped() -> None:
    embed = _one_embed(Message("x", [Section("ViT_H_14 *ensemble* ~x~ #1 | b> `code`")]))
    assert embed.description == "ViT\\_H\\_14 \\*ensemble\\* \\~x\\~ \\#1 \\| b\\> `code`"


def test_links_stay_masked_links_with_safe_urls() -> None:
    text = "[paper](https://en.wikipedia.org/wiki/A_(b)) [evil](javascript:alert(1))"
    embed = _one_embed(Message("x", [Section(text)]))
    assert embed.description == "[paper](https://en.wikipedia.org/wiki/A_%28b%29) evil"  # no javascript: link


def test_title_is_cut_to_256_and_description_split_at_4096() -> None:
    msg = Message("x", [Header("T" * 1000), Section("\n".join("y" * 100 for _ in range(100)))])
    payloads = render_discord(msg)
    assert discord_problems(payloads) == []
    embeds = [e for p in payloads for e in p.embeds]
    assert len(embeds[0].title) == DISCORD["title"]
    assert len(embeds) >= 3
    assert sum(e.description.count("y" * 100) for e in embeds) == 100


def test_6000_characters_per_message_split_into_several_payloads() -> None:
    msg = Message("x", [Section(f"{i} " + "z" * 3000) for i in range(12)])
    payloads = render_discord(msg)
    assert len(payloads) > 1
    assert discord_problems(payloads) == []
    assert all(sum(len(e) for e in p.embeds) <= 6000 for p in payloads)


def test_no_more_than_ten_embeds_per_payload() -> None:
    msg = Message("x", [b for i in range(30) for b in (Header(f"h{i}"), Section("s"))])
    payloads = render_discord(msg)
    assert [len(p.embeds) for p in payloads] == [10, 10, 10]
    assert discord_problems(payloads) == []


def test_fields_25_per_embed_with_names_and_values_cut() -> None:
    pairs = [("n" * 300, "v" * 2000) for _ in range(60)]
    payloads = render_discord(Message("x", [Fields(pairs)]))
    assert discord_problems(payloads) == []
    embeds = [e for p in payloads for e in p.embeds]
    assert sum(len(e.fields) for e in embeds) == 60
    assert all(len(f.name) <= 256 and len(f.value) <= 1024 for e in embeds for f in e.fields)


def test_empty_field_labels_get_a_placeholder_discord_accepts() -> None:
    embed = _one_embed(Message("x", [Fields([("", ""), ("a", "b")])]))
    assert all(f.name and f.value for f in embed.fields)


def test_table_is_a_code_block_in_the_description() -> None:
    embed = _one_embed(Message("x", [Table(columns=["#", "Model"], rows=[["1", "[A](https://a.org)"]])]))
    assert embed.description == "```\n#  Model\n--------\n1  A\n```"


def test_local_image_is_attached_and_referenced_by_attachment_url() -> None:
    [payload] = render_discord(Message("x", [Header("Chart"), Image(alt="sota", path="/tmp/charts/sota-x.png")]))
    assert payload.files == ["/tmp/charts/sota-x.png"]
    assert payload.embeds[0].image.url == "attachment://sota-x.png"


def test_public_image_url_is_used_directly() -> None:
    [payload] = render_discord(Message("x", [Image(alt="c", url="https://example.org/c.png")]))
    assert payload.files == [] and payload.embeds[0].image.url == "https://example.org/c.png"


def test_message_without_blocks_is_plain_content_that_cannot_ping_everyone() -> None:
    [payload] = render_discord(Message("hello @everyone and @here"))
    assert payload.embeds == []
    assert payload.content is not None and "@everyone" not in payload.content and "@here" not in payload.content


def test_error_embeds_are_red() -> None:
    embed = _one_embed(Message.error("Which task?", "/sota TASK"))
    assert embed.colour == discord.Colour(0xE74C3C)


def test_payload_is_a_dataclass_with_content_embeds_files() -> None:
    p = DiscordPayload()
    assert p.content is None and p.embeds == [] and p.files == []
