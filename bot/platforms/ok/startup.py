"""At start, in Одноклассники: each group's token and the application's signature
(``group.getInfo``). What is found goes into the start-up report."""

from __future__ import annotations

from bot.config import Config
from bot.platforms.ok.client import OkApiError, OkClient, OkTransportError
from bot.services.startup import StartupReport


async def check_ok(config: Config, clients: dict[int, OkClient], report: StartupReport) -> None:
    for group in config.ok.groups:
        client = clients.get(group.id)
        if client is None:
            continue
        name = group.name or str(group.id)
        try:
            found = await client.call("group.getInfo", uids=str(group.id), fields="name")
        except (OkApiError, OkTransportError) as exc:
            report.problem("ok_token", name=name, error=str(exc))
            continue
        if not found:
            report.problem("ok_no_group", name=name)
            continue
        report.ok("ok", name=found[0].get("name") or name)
