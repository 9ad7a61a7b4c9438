"""Command handlers by family; `commands.py` lists them in the command table.

A handler takes the server state, the client's session and the command's arguments, and
returns a reply value (`resp` types) or a `batch.Deferred` write; it knows no bytes on
the wire. Error texts are Redis 7.0's, to the byte.
"""
