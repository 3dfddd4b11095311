"""Configuration: file, env overrides, errors naming the key, secrets never shown."""

from __future__ import annotations

import dataclasses
import logging
import os
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
        # values that used to pass at start and fail at run time
        ("[delivery]\nlease_seconds = inf\n", {}, "delivery.lease_seconds"),
        ("", {"SOTABOT_DELIVERY__LEASE_SECONDS": "inf"}, "delivery.lease_seconds"),
        ("", {"SOTABOT_DELIVERY__LEASE_SECONDS": "nan"}, "delivery.lease_seconds"),
        ("[scheduler]\nmisfire_grace_seconds = 0\n", {}, "scheduler.misfire_grace_seconds"),
        ("[sources.arxiv]\npoll_interval_minutes = 99999999999\n", {}, "sources.arxiv.poll_interval_minutes"),
        ('[sources.arxiv]\napi_url = "http://exa mple.com"\n', {}, "sources.arxiv.api_url"),
        ('[slack]\napi_url = "http://exa mple.com"\n', {}, "slack.api_url"),
        ('[discord]\napi_url = "https://"\n', {}, "discord.api_url"),
        ('[sources.github]\napi_url = "https://api.github.com:99999"\n', {}, "sources.github.api_url"),
        ("[delivery]\nconcurrency = 0\n", {}, "delivery.concurrency"),
        ("[digest]\ntick_seconds = 0\n", {}, "digest.tick_seconds"),
        ("[sources.http]\ntimeout_seconds = 0\n", {}, "sources.http.timeout_seconds"),
        ("[sources.http]\nmax_body_bytes = 99999999999999\n", {}, "sources.http.max_body_bytes"),
        ("[delivery]\nbackoff_base_seconds = 1e300\n", {}, "delivery.backoff_base_seconds"),
        # SQLite keeps the busy timeout in int milliseconds: beyond 2147483 s (or under 1 ms) it is 0
        ("[database]\nbusy_timeout_seconds = 2200000\n", {}, "database.busy_timeout_seconds"),
        ("[database]\nbusy_timeout_seconds = 0.0004\n", {}, "database.busy_timeout_seconds"),
        # URL-valued keys whose names do not end in _url
        ('[sources.archive]\nendpoint = "http://exa mple.com"\n', {}, "sources.archive.endpoint"),
        ('[sources.archive]\nendpoint = "ftp//nohost"\n', {}, "sources.archive.endpoint"),
        # a rate of 0 would turn pacing off; one so small its pause overflows a span
        ("[sources.paperswithcode]\nrequests_per_second = 0\n", {}, "sources.paperswithcode.requests_per_second"),
        ("[sources.paperswithcode]\nrequests_per_second = 1e-300\n", {}, "sources.paperswithcode.requests_per_second"),
    ],
)
def test_a_wrong_value_names_the_key(tmp_path, toml, env, key):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    assert err.value.key == key


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("SOTABOT_DELIVERY__LEASE_SECONDS", "inf", "delivery.lease_seconds"),
        ("SOTABOT_SCHEDULER__MISFIRE_GRACE_SECONDS", "0", "scheduler.misfire_grace_seconds"),
        ("SOTABOT_SOURCES__ARXIV__POLL_INTERVAL_MINUTES", "99999999999", "sources.arxiv.poll_interval_minutes"),
        ("SOTABOT_SOURCES__HUGGINGFACE__API_URL", "http://exa mple.com", "sources.huggingface.api_url"),
        ("SOTABOT_DATABASE__BUSY_TIMEOUT_SECONDS", "2200000", "database.busy_timeout_seconds"),
        ("SOTABOT_SOURCES__ARCHIVE__ENDPOINT", "http://exa mple.com", "sources.archive.endpoint"),
        ("SOTABOT_SOURCES__PAPERSWITHCODE__REQUESTS_PER_SECOND", "0", "sources.paperswithcode.requests_per_second"),
    ],
)
def test_run_exits_2_naming_the_key_before_anything_runs(tmp_path, repo_root, variable, value, key):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTABOT_")}
    env.update({"SOTABOT_DATABASE__URL": f"sqlite:///{tmp_path / 'never.db'}", variable: value})
    proc = subprocess.run(
        [sys.executable, "-m", "sotabot.bot.cli", "run"],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert key in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "never.db").exists()  # nothing ran, not even the migrations


def test_every_default_passes_the_bounds():
    load_config(environ={})


def test_the_bounds_keep_the_values_that_work(tmp_path):
    """The edges themselves are accepted: SQLite's longest busy timeout, an archive mirror, a slow rate."""
    path = tmp_path / "c.toml"
    path.write_text(
        "[database]\nbusy_timeout_seconds = 2147483\n"
        '[sources.archive]\nendpoint = "http://127.0.0.1:8080/hub/"\n'
        "[sources.paperswithcode]\nrequests_per_second = 0.01\n"
    )
    cfg = load_config(path, environ={})
    assert cfg.database.busy_timeout_seconds == 2147483
    assert cfg.sources.archive.endpoint == "http://127.0.0.1:8080/hub/"
    assert cfg.sources.paperswithcode.requests_per_second == 0.01


def test_every_busy_timeout_the_config_accepts_is_the_one_sqlite_keeps(tmp_path):
    """Both ends of the bound reach SQLite as written; one millisecond further either way is 0 (no wait)."""
    from sqlalchemy import text

    from sotabot.storage.config import BUSY_TIMEOUT_MAX_SECONDS, BUSY_TIMEOUT_MIN_SECONDS
    from sotabot.storage.db import make_engine

    def kept(seconds: float) -> int:
        engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}", busy_timeout=seconds)
        with engine.connect() as conn:
            return conn.execute(text("PRAGMA busy_timeout")).scalar_one()

    assert kept(BUSY_TIMEOUT_MAX_SECONDS) == BUSY_TIMEOUT_MAX_SECONDS * 1000
    assert kept(BUSY_TIMEOUT_MIN_SECONDS) == 1
    assert kept(BUSY_TIMEOUT_MAX_SECONDS + 1) == kept(BUSY_TIMEOUT_MIN_SECONDS / 2) == 0


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
