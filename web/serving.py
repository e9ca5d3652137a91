"""The HTTP server ``shanyu serve`` runs: waitress, configured here once, so that the benches
(``bench/web_overhead.py``, ``bench/web_floor.py``) measure the server the command runs, as it
runs it.

waitress's own settings were measured for the API's latency (``bench/web_floor.py``: a bare WSGI
callable, 1, 4 and 8 threads, ``asyncore_use_poll``, ``channel_request_lookahead``): none moved a
round trip's median by more than the noise, so only the thread count is set.
"""

from __future__ import annotations

import threading
from typing import Any

THREADS = 8


def options() -> dict[str, Any]:
    """waitress's settings for Shanyu (``waitress.adjustments.Adjustments``)."""
    return {"threads": THREADS, "ident": "shanyu"}


def create_server(app: Any, *, host: str, port: int) -> Any:
    """A waitress server for ``app`` on ``host:port`` (port 0: any free port), not yet running."""
    from waitress.server import create_server as waitress_server

    return waitress_server(app, host=host, port=port, **options())


def run(server: Any) -> None:
    """Serve on ``server`` (from ``create_server``) until Ctrl-C, then close it (what ``shanyu
    serve`` runs). Ctrl-C is the way to stop it, so it ends the call normally."""
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


class Background:
    """A waitress server for ``app`` running in a thread of this process (the benches, tests), with
    a clean stop. ``port`` is the port it listens on.

    waitress's ``close()`` is meant for the thread that runs its loop: called from another thread it
    closes the loop's wake-up pipe under the loop, and the loop, or a worker finishing an answer,
    then writes to a closed descriptor ("OSError: [Errno 9] Bad file descriptor" in
    ``pull_trigger``). ``stop()`` therefore hands the closing to the loop's own thread through that
    pipe, waits for the loop to end, and only then stops the worker threads.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = create_server(app, host=host, port=port)
        self.port = int(self.server.effective_port)
        self.thread = threading.Thread(target=self.server.run, name=f"waitress:{self.port}", daemon=True)
        self.thread.start()

    def _close_in_loop(self) -> None:
        for channel in list(self.server.active_channels.values()):
            channel.close()
        self.server.close()  # the listening socket and the wake-up pipe: the loop's map is now empty

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and the listening socket in the loop's thread, wait for the loop
        to end, then stop the workers."""
        if self.thread.is_alive():
            self.server.trigger.pull_trigger(self._close_in_loop)
            self.thread.join(timeout)
        self.server.task_dispatcher.shutdown()
