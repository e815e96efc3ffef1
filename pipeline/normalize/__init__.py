"""One post's blocks to one `Episode`: `stages` runs the stages in order: `comments`,
`boilerplate`, `merge` (the two copies of a body into one, with `matching` and `spans`) and
`structure` (labels, sections, chapters)."""
