"""The host's end of the private channel to a worker: length-framed JSON over a socketpair.

Frames are a 4-byte big-endian length, then UTF-8 JSON (the worker has the same few lines). A
reader thread turns frames into messages on `inbox`, so the host never blocks on a worker: it
waits on the queue with a deadline. `None` on the inbox means the worker is gone or spoke garbage.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import struct
import threading
from typing import Any

from rlm_engine.text import valid_tree

_HEADER = struct.Struct(">I")
MAX_FRAME = 512 * 1024 * 1024  # a worker's frame above this is treated as hostile


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._send_lock = threading.Lock()
        self.closed = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True, name="rlm-sandbox-rx")
        self._reader.start()

    def send(self, msg: dict[str, Any], raw: bytes | None = None) -> bool:
        """False if the worker is gone (the caller finds out why from the inbox).

        `raw` bytes follow the message as a frame of their own (`msg["raw"]` tells the worker):
        JSON-encoding 40 MB of text costs a second, sending it raw a few milliseconds.
        """
        if raw is not None:
            msg = {**msg, "raw": len(raw)}
        data = json.dumps(msg).encode()
        try:
            with self._send_lock:
                if self.closed:
                    return False
                self.sock.sendall(_HEADER.pack(len(data)) + data)
                if raw is not None:
                    self.sock.sendall(_HEADER.pack(len(raw)))
                    self.sock.sendall(raw)
            return True
        except OSError:
            return False

    def close(self) -> None:
        with self._send_lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _read_loop(self) -> None:
        try:
            while True:
                header = self._exactly(_HEADER.size)
                if header is None:
                    break
                size = _HEADER.unpack(header)[0]
                body = self._exactly(size) if size <= MAX_FRAME else None
                if body is None:
                    break
                msg = json.loads(body)
                if not isinstance(msg, dict):
                    break
                self.inbox.put(valid_tree(msg))  # lone surrogates (valid JSON) -> U+FFFD
        except (OSError, ValueError):
            pass
        self.inbox.put(None)

    def _exactly(self, n: int) -> bytes | None:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = self.sock.recv_into(view[got:], min(n - got, 1 << 22))
            if not k:
                return None
            got += k
        return bytes(buf)
