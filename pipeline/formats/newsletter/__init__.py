"""The newsletter edition: `edition` renders it, `options` reads `[newsletter]`, `message` makes
the email message and `headers` its header lines."""
