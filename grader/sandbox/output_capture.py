"""What the student's code prints: a pipe that the trusted side drains, keeping a bounded head
and tail. The worker never holds a host file, so it cannot fill, fallocate or seek one."""

from __future__ import annotations

import os
import threading


class OutputCapture:
    """One submission's output; every worker of the submission writes to ``write_fd``."""

    def __init__(self, head_bytes: int = 1000, tail_bytes: int = 2000) -> None:
        self.head_bytes, self.tail_bytes = head_bytes, tail_bytes
        self.read_fd, self.write_fd = os.pipe()
        os.set_inheritable(self.write_fd, False)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                os.close(self.read_fd)
                return
            with self.lock:
                room = self.head_bytes - len(self.head)
                self.head += chunk[:room]
                self.tail += chunk[room:] if room > 0 else chunk
                excess = len(self.tail) - self.tail_bytes
                if excess > 0:
                    self.dropped += excess
                    del self.tail[:excess]

    def close(self, timeout: float = 2.0) -> None:
        """No more writers from our side; wait (bounded) for what the workers wrote."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1
        self.thread.join(timeout)

    def text(self) -> str:
        """Head, a note of how many bytes were dropped in between, tail."""
        with self.lock:
            head, tail, dropped = bytes(self.head), bytes(self.tail), self.dropped
        if dropped:
            middle = f"\n[... {dropped} bytes dropped ...]\n".encode()
            return (head + middle + tail).decode(errors="replace")
        return (head + tail).decode(errors="replace")
