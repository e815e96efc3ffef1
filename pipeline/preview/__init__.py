"""`episode serve`: every output of every post in a browser, rebuilt on save.

`server` runs the preview (the build, the watcher, the HTTP server and its requests); `state` is
the latest build and which pages it changed; `pages` is what a page shows of a post.
"""
