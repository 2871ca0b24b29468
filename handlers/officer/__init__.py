"""Union officers: progress against quotas, charts, exports, rankings, invite links, digests, first set-up."""
