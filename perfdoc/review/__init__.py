"""Beside the pipeline, for the people who review and maintain the data: `diff` (git plumbing,
comparison, formatting), `new` (scaffold) and `new-year` (yearly)."""
