"""Configuration: file, env overrides, errors naming the key, secrets never shown."""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from pathlib import Path

import pytest

from sotabot.bot.cli import main
from sotabot.bot.settings import Config, load_config
from sotabot.storage.config import ConfigError, Secret

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_file_and_use_embedded_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert cfg.database.url == "sqlite:///sotabot.db"
    assert cfg.sources.arxiv.categories == ["cs.CV", "cs.LG", "cs.CL", "cs.AI"]


def test_example_file_documents_every_key_with_its_default():
    with open(ROOT / "config.example.toml", "rb") as fh:
        example = tomllib.load(fh)

    def keys(obj, prefix=""):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                yield from keys(value, f"{prefix}{f.name}.")
            else:
                yield f"{prefix}{f.name}", value

    def lookup(path):
        node = example
        for part in path.split("."):
            node = node[part]
        return node

    for key, default in keys(Config()):
        assert lookup(key) == default, key
    assert load_config(ROOT / "config.example.toml", environ={}) == Config()


def test_env_overrides_nested_keys_lists_and_booleans(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///from-file.db"\n[sources.arxiv]\npage_size = 50\n')
    cfg = load_config(
        path,
        environ={
            "SOTABOT_DATABASE__URL": "postgresql+psycopg://u@h/db",
            "SOTABOT_SOURCES__ARXIV__RSS_URL": "http://127.0.0.1:9/rss",
            "SOTABOT_SOURCES__ARXIV__CATEGORIES": "cs.CV, stat.ML",
            "SOTABOT_DIGEST__SEND_EMPTY": "true",
            "SOTABOT_DISCORD__GUILD_IDS": "1,2",
            "SOTABOT_METRICS__TEST_ERROR": "lower",
        },
    )
    assert cfg.database.url == "postgresql+psycopg://u@h/db"
    assert cfg.sources.arxiv.rss_url == "http://127.0.0.1:9/rss"
    assert cfg.sources.arxiv.categories == ["cs.CV", "stat.ML"]
    assert cfg.sources.arxiv.page_size == 50
    assert cfg.digest.send_empty is True
    assert cfg.discord.guild_ids == [1, 2]
    assert cfg.metrics == {"test_error": "lower"}


def test_config_file_from_environment_variable(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text('[log]\nlevel = "DEBUG"\n')
    assert load_config(environ={"SOTABOT_CONFIG": str(path)}).log.level == "DEBUG"


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ('[slack]\nmode = "websocket"\n', {}, "slack.mode"),
        ("[server]\nport = \"eighty\"\n", {}, "server.port"),
        ("", {"SOTABOT_DELIVERY__CONCURRENCY": "many"}, "delivery.concurrency"),
        ('[digest]\ndefault_timezone = "Mars/Olympus"\n', {}, "digest.default_timezone"),
        ('[digest]\ndefault_time = "25:00"\n', {}, "digest.default_time"),
        ('[databse]\nurl = "x"\n', {}, "databse"),
        ('[metrics]\n"WER" = "smaller"\n', {}, "metrics.WER"),
        ('[sources.github]\napi_url = "ftp://x"\n', {}, "sources.github.api_url"),
    ],
)
def test_a_wrong_value_names_the_key(tmp_path, toml, env, key):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    assert err.value.key == key


def test_the_cli_exits_2_with_the_key_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTABOT_SOURCES__ARXIV__PAGE_SIZE", "lots")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert "sources.arxiv.page_size" in err
    assert "Traceback" not in err


def test_secrets_never_show_in_repr_str_or_logs(caplog):
    cfg = load_config(environ={"SOTABOT_SLACK__BOT_TOKEN": "xoxb-very-secret"})
    token = cfg.slack.bot_token
    assert isinstance(token, Secret)
    assert token.reveal() == "xoxb-very-secret"
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("token=%s cfg=%r f=%s", token, cfg, f"{token}")
    assert "very-secret" not in caplog.text
    assert "very-secret" not in repr(cfg)
    assert cfg.secrets()["slack.bot_token"] is True
    assert cfg.secrets()["discord.token"] is False
