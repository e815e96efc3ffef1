"""Sending the newsletter: `outgoing` makes the bytes each reader gets, `sending` delivers them
over SMTP (a test send, or a list at a steady pace), `readers` loads the list and its
suppressions, and `journal` remembers who has had which post, so a list send is at most once
per reader. Nothing here imports a format's rendering."""
