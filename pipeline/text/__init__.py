"""Text helpers every stage and format uses: `chapters` (timestamps), `links` (URLs) and
`block_writers` (the neutral blocks as Markdown, HTML or plain text)."""
