"""The initiative template as data, value parsers and rendering. Imports nothing else of ours."""
