"""The internet as an air-gapped cluster sees it: a TCP listener that accepts connections and
never answers, as a firewall that drops packets does. Point the proxy variables (and the hub's
endpoint) at it, and any download a process attempts hangs instead of failing fast; `attempts`
counts the connections, so a test can say that nothing tried."""

from __future__ import annotations

import socket
import threading


class Unreachable:
    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="unreachable", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    @property
    def attempts(self) -> int:
        with self._lock:
            return len(self._held)

    def env(self) -> dict[str, str]:
        """Every route to the internet a Python HTTP client takes, through the black hole; the
        loopback (where the tests' own servers are) stays direct."""
        hole = self.url
        return {
            **{name: hole for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "HF_ENDPOINT": hole,
            "HF_HUB_OFFLINE": "",
            "LITELLM_MODEL_COST_MAP_URL": f"{hole}/model_prices.json",
        }

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        with self._lock:
            for conn in self._held:
                conn.close()
