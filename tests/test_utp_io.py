"""uTP over real UDP sockets on loopback (BEP 29): btref to btref, through the stream pair
the driver uses for TCP."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from pathlib import Path

import pytest

from btref.cli import main
from btref.net import utp_io
from btref.utp import State
from tests.test_cli_network import btref_process
from tests.test_driver import make_torrent, same_tree


async def _echo_digest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read to the end of the stream, answer with its SHA-1 and the byte count, close."""
    digest, count = hashlib.sha1(), 0
    while data := await reader.read(1 << 16):
        digest.update(data)
        count += len(data)
    writer.write(digest.digest() + count.to_bytes(8, "big"))
    await writer.drain()
    writer.close()


async def _transfer(size: int) -> None:
    server = await utp_io.serve(_echo_digest, "127.0.0.1")
    client = await utp_io.UtpSocket.bind("127.0.0.1")
    try:
        reader, writer = await utp_io.open_connection(client, "127.0.0.1", server.address[1])
        assert writer.get_extra_info("peername")[1] == server.address[1]
        data = random.Random(size).randbytes(size)
        for i in range(0, size, 1 << 18):
            writer.write(data[i:i + (1 << 18)])
            await writer.drain()  # waits while more than the high-water mark is unacked
        writer.write_eof()  # our FIN; the answer still comes back
        answer = await asyncio.wait_for(reader.read(), 60)
        assert answer == hashlib.sha1(data).digest() + size.to_bytes(8, "big")
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 30)
        assert all(t.conn.state is State.CLOSED for t in client._connections.values())
    finally:
        client.close()
        server.close()


def test_btref_to_btref_over_utp_on_loopback() -> None:
    asyncio.run(_transfer(4 << 20))


def test_a_socket_that_serves_nobody_refuses_a_dial() -> None:
    async def main() -> None:
        silent = await utp_io.UtpSocket.bind("127.0.0.1")  # no handler: answers a SYN with RESET
        client = await utp_io.UtpSocket.bind("127.0.0.1")
        try:
            with pytest.raises(ConnectionError, match="reset"):
                await utp_io.open_connection(client, "127.0.0.1", silent.address[1])
        finally:
            client.close()
            silent.close()
    asyncio.run(main())


def test_seed_and_download_over_utp_from_the_command_line(tmp_path: Path) -> None:
    data, _, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--transport", "utp") as (proc, first):
        match = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        out, events = tmp_path / "out", tmp_path / "ev.jsonl"
        assert main(["download", str(path), "-o", str(out), "--host", "127.0.0.1", "--transport", "both",
                     "--peer", f"127.0.0.1:{match.group(1)}", "--events", str(events)]) == 0
    assert same_tree(src, out)
    assert "connect_failed" not in events.read_text()  # uTP answered: no fallback was needed


def test_an_unknown_transport_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "t.torrent", ".", "--transport", "sctp"]) == 2
    assert "--transport" in capsys.readouterr().err
