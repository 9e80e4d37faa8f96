"""Review text: sentiment and aspects. Imports nothing from `loyalty` or `api`."""
