"""Publishing to YouTube: `publish` puts each post's `youtube.txt` on its video, `ledger`
remembers what each video was given (and keeps backups) in `.episode/youtube/`, `api` is Google's
client against the YouTube Data API, and `auth` the one-time OAuth authorization and its token."""
