"""`sotabot run` (the whole service in one process) and `sotabot discord invite-url`."""

from __future__ import annotations

import argparse

from sotabot.bot.cli.app import App, UserError


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="run the bot: Slack, Discord, HTTP server and background jobs (terminal chat without tokens)",
    )
    run.set_defaults(func=_run)
    discord_p = sub.add_parser("discord", help="Discord set-up helpers")
    dsub = discord_p.add_subparsers(dest="discord_command", metavar="ACTION", required=True)
    invite = dsub.add_parser("invite-url", help="print the URL that adds the bot to a server")
    invite.add_argument("--application-id", metavar="ID", help="default: discord.application_id, else from the token")
    invite.set_defaults(func=_invite_url)


def _run(args: argparse.Namespace, app: App) -> int:
    from sotabot.bot.service import Service, run_until_stopped

    return run_until_stopped(Service(app.engine, app.config))


def _invite_url(args: argparse.Namespace, app: App) -> int:
    from sotabot.bot.platforms.discord import application_id_from_token, invite_url

    cfg = app.config.discord
    app_id = args.application_id or cfg.application_id
    if not app_id and cfg.token:
        app_id = application_id_from_token(cfg.token.reveal()) or ""
    if not app_id or not str(app_id).isdigit():
        raise UserError(
            "no Discord application id: set discord.application_id (SOTABOT_DISCORD__APPLICATION_ID) "
            "or pass --application-id (Developer Portal > your app > General Information)"
        )
    print(invite_url(app_id))
    return 0
