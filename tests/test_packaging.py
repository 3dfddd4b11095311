"""The distribution: one package, `sotabot`, that works from a real (non-editable) wheel install."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("bot", "digests", "sources", "storage")


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_every_package_folder_is_listed_and_mapped_into_the_sotabot_namespace() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {f"sotabot.{layer}": layer for layer in LAYERS}
    on_disk = {
        "sotabot." + ".".join(init.parent.relative_to(ROOT).parts)
        for layer in LAYERS
        for init in (ROOT / layer).rglob("__init__.py")
    }
    listed = set(setuptools["packages"])
    assert on_disk <= listed, sorted(on_disk - listed)
    assert all(name.startswith("sotabot.") for name in listed)


def test_packaging_metadata_uses_an_spdx_licence_and_the_namespaced_console_script() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["scripts"] == {"sotabot": "sotabot.bot.cli:main"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed with pip into a folder of its own (no editable finder)."""
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = work.glob("sotabot-*.whl")
    target = work / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return target


def _run_installed(target: Path, code: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Python without site (so this checkout's editable install is invisible), the wheel first, then the deps."""
    deps = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOTABOT_", "PYTHON"))}
    boot = f"import sys; sys.path[:0] = [{str(target)!r}, {deps!r}]\n"
    return subprocess.run(
        [sys.executable, "-S", "-c", boot + code], cwd=cwd, env=env, input=stdin,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow
def test_the_wheel_installs_only_the_sotabot_package(installed: Path) -> None:
    top = {p.name for p in installed.iterdir() if p.name != "bin"}
    assert top == {"sotabot", "sotabot-0.1.0.dist-info"}
    assert not (installed / "sotabot" / "__init__.py").exists()  # a namespace: nothing generic at the top
    assert (installed / "sotabot" / "storage" / "migrations" / "versions" / "0001_initial_schema.py").exists()
    assert (installed / "sotabot" / "sources" / "data" / "starter-tables.json.gz").exists()


@pytest.mark.slow
def test_from_the_wheel_the_cli_works_and_the_old_top_level_names_do_not_exist(installed: Path, tmp_path: Path) -> None:
    code = (
        "import sotabot.bot.cli as cli, sys\n"
        f"assert cli.__file__.startswith({str(installed)!r}), cli.__file__\n"
        "for old in ('storage', 'bot', 'sources', 'digests'):\n"
        "    try:\n"
        "        __import__(old)\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'{old} is importable')\n"
        "sys.argv = ['sotabot', '--help']\n"
        "sys.exit(cli.main(['--help']))\n"
    )
    result = _run_installed(installed, code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: sotabot" in result.stdout and "sota" in result.stdout


@pytest.mark.slow
def test_from_the_wheel_run_migrates_loads_the_starter_set_and_answers_in_the_terminal(
    installed: Path, tmp_path: Path
) -> None:
    code = "import sys\nfrom sotabot.bot.cli import main\nsys.exit(main(['run']))\n"
    result = _run_installed(installed, code, tmp_path, stdin="/sota question answering\nquit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Question Answering"), result.stdout[:500]
    assert (tmp_path / "sotabot.db").exists()
    current = "import sys\nfrom sotabot.bot.cli import main\nsys.exit(main(['db', 'current']))\n"
    revision = _run_installed(installed, current, tmp_path)
    assert revision.returncode == 0, revision.stderr
    assert revision.stdout.split() == [_head_revision()]  # the wheel ships every migration, up to the newest


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from sotabot.storage.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""
