"""The YouTube and podcast descriptions: `youtube` and `podcast` render them from `common`;
`limits` holds the platforms' rules and numbers, `chapters` their chapter rules, `budget` fits a
description into bytes, `text` cleans what a description may hold, `options` reads their tables."""
