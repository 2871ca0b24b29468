"""SQLModel tables, engine set-up, and the transactional functions the handlers call."""
