"""At start, in VK: each community's token (and its long poll), and whether the pages
that post to it have a community administrator's token. What is found goes into the
start-up report."""

from __future__ import annotations

from bot.config import Config
from bot.platforms.vk.client import VkClient, VkError, VkTransportError
from bot.services.startup import StartupReport


async def check_communities(config: Config, clients: dict[str, VkClient],
                            report: StartupReport) -> None:
    for community in config.vk.communities:
        client = clients.get(f"vk:community:{community.id}")
        name = community.name or str(community.id)
        if client is None:
            continue
        try:
            await client.call("groups.getById", group_id=community.id)
        except VkError as exc:
            report.problem("vk_token", name=name, error=str(exc))
            continue
        except VkTransportError as exc:
            report.problem("vk_unreachable", name=name, error=str(exc))
            continue
        if community.longpoll:
            try:
                await client.call("groups.getLongPollServer", group_id=community.id)
            except VkError as exc:
                report.problem("vk_longpoll", name=name, error=str(exc))
                continue
        report.ok("vk", name=name)
        if not community.user_token.get_secret_value() and any(
            t.platform == "vk" and t.id == community.id
            for page in config.pages for t in page.targets
        ):
            report.problem("vk_no_user_token", name=name)
