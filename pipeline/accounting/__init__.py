"""Nothing lost silently: `inventory` reads the body on its own (with `unseen` for what no reader
sees) and `verify` checks every piece is in `post.md` or the report, which `canonical` writes."""
