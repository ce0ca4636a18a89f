"""A small HTTP/1.1 file server with range requests, in a thread, for the web seed tests (BEP 19).

:class:`FileServer` serves the files below a folder on 127.0.0.1 (a free port chosen by the
OS), answering ``Range: bytes=a-b`` with ``206 Partial Content`` over keep-alive
connections, as nginx or Apache would. Its faults are chosen per test: ``fail_first``
requests answered ``503``, or ``lie`` (every body with its bytes flipped, the right
length). ``requests`` counts what it was asked; ``with`` starts it and stops it.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["FileServer"]

RANGE = re.compile(r"bytes=(\d+)-(\d+)$")


class FileServer:
    """Serve ``root`` over HTTP/1.1 with range requests until the ``with`` block ends."""

    def __init__(self, root: Path, *, fail_first: int = 0, lie: bool = False, port: int = 0) -> None:
        self.root, self.fail_first, self.lie = root.resolve(), fail_first, lie
        self.requests = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            # Headers and body are two writes: without this, the body waits for the ACK of
            # the headers, which the client delays (Nagle meets delayed ACK, 40 ms a reply).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the tests say what went wrong

            def do_GET(self) -> None:
                with server.lock:
                    server.requests += 1
                    failing = server.requests <= server.fail_first
                if failing:
                    return self.reply(503, b"busy")
                path = (server.root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
                if server.root not in path.parents or not path.is_file():
                    return self.reply(404, b"no such file")
                size = path.stat().st_size
                wanted = RANGE.match(self.headers.get("Range", ""))
                if wanted is None:
                    return self.reply(200, path.read_bytes())
                start, end = int(wanted[1]), int(wanted[2])
                if start > end or end >= size:
                    return self.reply(416, b"")
                with path.open("rb") as f:  # only the range: the file may be big
                    f.seek(start)
                    body = f.read(end + 1 - start)
                if server.lie:
                    body = bytes(b ^ 0xFF for b in body)
                self.reply(206, body, {"Content-Range": f"bytes {start}-{end}/{size}"})

            def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="webseed-http", daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def main() -> None:
    """``python -m tests.webserver FOLDER [PORT]``: serve FOLDER until Ctrl-C (for the web seed chapter)."""
    import sys
    import time

    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    # A fixed port (say 8000), so the URL can be written into a torrent before the server runs.
    with FileServer(root, port=int(sys.argv[2]) if len(sys.argv) > 2 else 0) as server:
        print(f"serving {root.resolve()} at {server.url} with range requests; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
