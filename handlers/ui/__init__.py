"""What the handlers show on Telegram: keyboard builders and typed callback data (channels/ renders them for
channels without buttons)."""
