"""How a platform spells one workspace several ways, for storage's channel lookups.

Slack keys a team "T…" alone or "E…:T…" once it is part of an Enterprise Grid; a team that
joins (or leaves) a Grid keeps its channels, so the same team and channel under the other
form of the key is the same channel. Only the team part is compared, never another team's.
Discord guild ids have one spelling.
"""

from __future__ import annotations

from sotabot.storage.channels import SameWorkspace


def same_workspace(platform: str, workspace: str) -> SameWorkspace | None:
    """The other keys of this workspace on its platform (None: it has one)."""
    if platform != "slack" or not workspace:
        return None
    team = workspace.rsplit(":", 1)[-1]
    return SameWorkspace(keys=(team,) if team != workspace else (), suffix=f":{team}")
