"""The services: what the bot does with an incident, a post, a report — the flows.

They speak to storage through its repository functions and to the platforms only
through the ports of ``bot.ports`` (the staff workspace, the pages).
"""
