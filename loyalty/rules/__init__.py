"""Reward rules: conditions on a customer, rewards, message templates, proposals."""
