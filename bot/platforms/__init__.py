"""The platform adapters: Telegram and VK behind the ports of ``bot.ports``."""
