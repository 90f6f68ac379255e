"""mcu-hub: a municipal control centre in Telegram and VK."""
