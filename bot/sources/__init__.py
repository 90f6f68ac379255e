"""Where citizens' messages come from: VK communities and publics, Telegram chats."""
