"""Telegram: the Bot API through aiogram, the staff workspace, channels and citizens' chats."""
