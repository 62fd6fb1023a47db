"""One headless browser (kaleido's Chromium) for every chart image of the process.

Starting Chromium costs about 2 s, an image in a running browser about 0.15 s. We run our own
small session (a private asyncio loop on a daemon thread holding one `kaleido.Kaleido`) instead
of `kaleido.start_sync_server()`, because the global sync server hangs forever on its first
call when the browser cannot start (its thread dies and the caller waits on a queue nobody
serves). Here every call has a timeout. `SESSION` is the process's session; it is closed at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from typing import Any

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def _quiet_browser_logs() -> None:
    # kaleido and choreographer log every pipe message at DEBUG/INFO; the browser's own stderr
    # arrives through the "browser_proc" logger. None of it helps a person reading the run log.
    # choreographer also logs a traceback at ERROR for a malformed pipe message it then ignores
    # ("JSONError decoding message. Ignoring"): it would reach the terminal, so only CRITICAL
    # passes. Render failures that matter become the run's notes (see render_charts).
    for name in ("kaleido", "choreographer", "browser_proc", "chrome_wrapper", "logistro"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class BrowserSession:
    """One kaleido browser on a private event loop thread, shared by every render."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: concurrent.futures.Future[Any] | None = None
        self._owner_pid = os.getpid()

    def start(self) -> concurrent.futures.Future[Any]:
        """Begin opening the browser if it is not open or opening; returns the open future."""
        with self._lock:
            if self._ready is not None and self._healthy():
                return self._ready
            self._shutdown_locked()
            _quiet_browser_logs()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="chart-renderer", daemon=True)
            thread.start()
            self._loop, self._thread, self._owner_pid = loop, thread, os.getpid()
            self._ready = asyncio.run_coroutine_threadsafe(_open_kaleido(), loop)
            return self._ready

    def ensure_started(self, timeout: float) -> None:
        self.start().result(timeout=timeout)

    def render(self, fig: dict[str, Any], *, width: int, height: int, timeout: float) -> bytes:
        """The figure (`Figure.to_dict()`) as PNG bytes, `width` x `height` pixels."""
        ready = self.start()
        kaleido = ready.result(timeout=timeout)
        opts = {
            "format": "png",
            "width": width,
            "height": height,
            "scale": 1,
        }
        assert self._loop is not None
        job = asyncio.run_coroutine_threadsafe(kaleido.calc_fig(fig, opts=opts), self._loop)
        try:
            return bytes(job.result(timeout=timeout))
        except concurrent.futures.TimeoutError:
            job.cancel()
            raise

    def recover(self) -> bool:
        """After a failed render: restart the browser; False if it cannot be started again."""
        self.stop()
        try:
            self.ensure_started(timeout=START_TIMEOUT_S)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        with self._lock:
            self._shutdown_locked()

    def _healthy(self) -> bool:
        ready = self._ready
        if ready is None or self._thread is None or not self._thread.is_alive():
            return False
        if not ready.done():
            return True
        return ready.exception() is None and _browser_alive(ready.result())

    def _shutdown_locked(self) -> None:
        loop, thread, ready = self._loop, self._thread, self._ready
        self._loop = self._thread = self._ready = None
        # A forked child inherits this object but not the thread: nothing of ours to stop.
        if loop is None or thread is None or os.getpid() != self._owner_pid:
            return
        if ready is not None:
            try:
                kaleido = ready.result(timeout=STOP_TIMEOUT_S)
                asyncio.run_coroutine_threadsafe(kaleido.close(), loop).result(STOP_TIMEOUT_S)
            except Exception:
                logger.debug("closing the browser failed", exc_info=True)
                _kill_browser(ready)
        try:
            asyncio.run_coroutine_threadsafe(_cancel_tasks(), loop).result(STOP_TIMEOUT_S)
        except Exception:
            logger.debug("cancelling the renderer's tasks failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT_S)
        if not thread.is_alive():
            loop.close()


# kaleido reloads its page (plotly.js, 3 MB of script) after every image: 0.13 s of a 0.18 s
# render. A job draws a dozen charts, so the page is reloaded every this many instead; each
# image is drawn by the page from its own spec (the bytes are the same either way, see
# tests/training/test_charts.py), and a failed render restarts the browser (`recover`).
RENDERS_PER_RELOAD = 25


async def _open_kaleido() -> Any:
    import kaleido

    # mathjax=False: the default loads MathJax from a CDN on every page load, which is slow or
    # hangs without internet, and our charts have no LaTeX.
    k = _kaleido_class(kaleido.Kaleido)(n=1, timeout=RENDER_TIMEOUT_S, mathjax=False)
    await k.open()
    return k


def _kaleido_class(base: type) -> type:
    """`base` with its per-image page reload made every `RENDERS_PER_RELOAD` images.

    It hooks kaleido's (private) tab hand-back; a kaleido without it is used as it is, only
    slower: `reloads_every_render` tells which one runs.
    """
    if not callable(getattr(base, "_return_kaleido_tab", None)):
        return base

    class FewerReloads(base):
        _renders_since_reload = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._renders_since_reload += 1
            if self._renders_since_reload >= RENDERS_PER_RELOAD:
                self._renders_since_reload = 0
                await super()._return_kaleido_tab(tab)  # reloads, then hands the tab back
            else:
                await self.tabs_ready.put(tab)

    return FewerReloads


def reloads_every_render(kaleido: Any) -> bool:
    return not hasattr(kaleido, "_renders_since_reload")


async def _cancel_tasks() -> None:
    # choreographer leaves a watchdog task behind when the browser fails to start; cancel it so
    # closing the loop does not print "Task was destroyed but it is pending!".
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _browser_alive(kaleido: Any) -> bool:
    proc = getattr(kaleido, "subprocess", None)
    return proc is None or proc.poll() is None


def _kill_browser(ready: concurrent.futures.Future[Any]) -> None:
    # The wrapper process dies, Chromium sees its pipe close and exits too.
    if ready.done() and ready.exception() is None:
        proc = getattr(ready.result(), "subprocess", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


SESSION = BrowserSession()
atexit.register(SESSION.stop)
