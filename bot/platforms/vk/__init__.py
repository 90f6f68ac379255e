"""VK: the real ``vk_api`` behind a small async adapter; community walls and messages."""
