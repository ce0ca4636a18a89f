"""The asyncio drivers: real sockets around the sans-I/O core (the reference tracker server, peers)."""
