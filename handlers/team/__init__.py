"""The support team (Tổ hỗ trợ sáng kiến): review cards and decisions in its group, reminders, the team list."""
