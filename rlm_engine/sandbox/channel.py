"""The host's end of the private channel to a worker: length-framed JSON over a socketpair.

Frames are a 4-byte big-endian length, then UTF-8 JSON (the worker has the same few lines). A
reader thread turns frames into messages on `inbox`, so the host never blocks on a worker: it
waits on the queue with a deadline. `None` on the inbox means the worker is gone, a `FrameError`
that it sent something that is not a message (frames.py: every frame is untrusted).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from rlm_engine.sandbox.frames import MAX_FRAME_BYTES as MAX_FRAME
from rlm_engine.sandbox.frames import FrameError, parse_frame

_HEADER = struct.Struct(">I")


class RawTexts(Protocol):
    """Texts sent raw after a message (rlm_engine.held.HeldContext): each one's UTF-8 size, and
    all of them encoded, in order, a piece at a time."""

    @property
    def sizes(self) -> Sequence[int]: ...

    def encoded(self) -> Iterable[bytes]: ...


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox: queue.Queue[dict[str, Any] | FrameError | None] = queue.Queue()
        self._send_lock = threading.Lock()
        self.closed = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True, name="rlm-sandbox-rx")
        self._reader.start()

    def send(self, msg: dict[str, Any], raw: RawTexts | None = None) -> bool:
        """False if the worker is gone (the caller finds out why from the inbox).

        `raw` texts follow the message, UTF-8 one after another, as a frame of their own
        (`msg["raw"]` tells the worker its size, `msg["sizes"]` each text's): JSON-encoding 40 MB
        of text costs a second, sending it raw a few milliseconds. It is encoded a piece at a
        time: the host never holds an encoded copy of a whole corpus beside its text.
        """
        if raw is not None:
            msg = {**msg, "raw": sum(raw.sizes), "sizes": list(raw.sizes)}
        data = json.dumps(msg).encode()
        try:
            with self._send_lock:
                if self.closed:
                    return False
                self.sock.sendall(_HEADER.pack(len(data)) + data)
                if raw is not None:
                    self.sock.sendall(_HEADER.pack(msg["raw"]))
                    for data in raw.encoded():
                        self.sock.sendall(data)
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
        """Frames -> messages until the worker is gone (None) or speaks garbage (a FrameError,
        then nothing more is read: the stream can no longer be trusted to be in step)."""
        end: FrameError | None = None
        try:
            while True:
                header = self._exactly(_HEADER.size)
                if header is None:
                    break
                size = _HEADER.unpack(header)[0]
                if size > MAX_FRAME:
                    end = FrameError(f"a frame of {size:,} bytes, over the {MAX_FRAME:,} limit")
                    break
                body = self._exactly(size)
                if body is None:
                    break
                self.inbox.put(parse_frame(body))
        except FrameError as exc:
            end = exc
        except OSError:
            pass
        except Exception as exc:  # never let the reader die silently: the host would wait
            end = FrameError(f"an unreadable frame ({type(exc).__name__})")
        self.inbox.put(end)

    def _exactly(self, n: int) -> bytes | None:
        """n bytes, or None at the end of the stream; memory grows with what arrives, not with
        what a header claims."""
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 22))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)
