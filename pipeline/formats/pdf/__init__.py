"""PDF show notes: `show_notes` is the page model, `engine` runs WeasyPrint with `fetcher` (the
only URL fetcher it may use), `options` reads `[pdf]`."""
