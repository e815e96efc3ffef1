"""The user's settings: `config` loads and checks them (`Settings`), `schema` is how every table
is declared and read, and `site` finds the site, its posts and its settings file from the folder a
command runs in."""
