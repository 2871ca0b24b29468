"""The Zalo Bot Platform: its HTTP API, a session that gives aiogram's calls their Zalo form, and the updates
it sends turned into aiogram updates (typed choices into the button presses they stand for)."""
