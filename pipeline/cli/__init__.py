"""The command line: `commands` declares `episode`'s commands on `program` (Invoke's `Program`
with only `episode`'s own options); `check` and `normalize` are the commands of those names."""
