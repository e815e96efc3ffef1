"""A post before pandoc: `discovery` finds the post files, `post_file` reads one (bytes, front
matter, honest field types), `liquid` resolves or reports Jekyll Liquid, `prepare` gives pandoc a
clean body, and `readers` holds the Markdown and HTML readers `prepare` and the check share."""
