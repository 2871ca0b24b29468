"""A member's own path: registration, the form, drafts, profile, history."""
