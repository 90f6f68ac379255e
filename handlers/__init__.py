"""aiogram routers: what a person's button or message in Telegram does. Thin: parse, call
one service, answer through the outbox. ``bot.app`` includes them, in the order it names."""
