"""Bringing every post's outputs up to date: `run` orchestrates, `fingerprints` and `manifest`
decide what is stale, `workers` render in this or worker processes, `output_folder` switches a
post's folder whole, and `watch` rebuilds on change."""
