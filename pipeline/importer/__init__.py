"""`episode import`: the show's podcast feed (with its YouTube and Substack feeds) as clean posts.

`fetch` gets a feed's bytes (a file, or http(s) with limits and conditional requests), `feeds`
reads them into records, `matching` finds each episode's video and Substack post, `posts` makes
the clean post through the tool's own normalization, `state` remembers what the import wrote
(`.episode/import/`), `run` plans and applies, and `options` reads the `[import]` table.
"""
