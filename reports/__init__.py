"""Reports for officers: spreadsheets (and, later, charts). Plain data in, bytes out; no Telegram, no SQL."""
