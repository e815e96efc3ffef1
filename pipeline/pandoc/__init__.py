"""pandoc's side: `convert` is the only module that runs pandoc (with the filters in `lua/`),
`stream` converts posts ahead of the caller, `blocks` turns pandoc's JSON into neutral blocks and
`embeds` names the players, forms and badges found in raw HTML."""
