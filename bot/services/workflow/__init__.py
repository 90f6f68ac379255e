"""The staff's work on an incident: button presses, answers written as replies, publication."""
