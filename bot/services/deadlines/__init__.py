"""Deadlines in the running process: reminders, escalation, first-reply alerts, /deadline."""
