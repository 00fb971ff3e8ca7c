"""A small progress bar: loss, accuracy, images/s and time left, redrawn in place on a terminal.

On a terminal (``stream.isatty()``) the bar is redrawn on one line (``\\r``)
at most ``refresh`` times a second and replaced by the epoch's summary line
when the epoch ends. Anywhere else (a CI log, a file, a pipe) nothing is
drawn during the epoch and the summary line is printed once: one line per
epoch, no control characters.
"""
import shutil
import sys
import time

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds: float) -> str:
    """``75.3`` -> ``'1:15'``, ``3725`` -> ``'1:02:05'``."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "?"
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """``bar = ProgressBar(total, prefix)``; ``bar.update(done, images, loss, accuracy)``
    after each batch; ``bar.finish(summary)`` at the end of the epoch.

    ``done`` counts finished batches out of ``total`` (a resumed epoch may start
    above 0); ``images`` counts images processed since this bar started, for
    the images/s figure; ``loss`` and ``accuracy`` are running averages.
    """

    def __init__(self, total: int, prefix: str = "", stream=None, tty=None, refresh: float = 10.0,
                 width: int = 24):
        self.total = max(int(total), 1)
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stdout
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.interval = 1.0 / refresh
        self.width = width
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._start_done = None
        self._drawn = False

    def rate(self, images: int) -> float:
        elapsed = time.perf_counter() - self.start
        return images / elapsed if elapsed > 0 else 0.0

    def line(self, done: int, images: int, loss: float, accuracy: float) -> str:
        elapsed = time.perf_counter() - self.start
        if self._start_done is None:
            self._start_done = done - 1 if done > 0 else 0
        batches_here = done - self._start_done
        eta = elapsed / batches_here * (self.total - done) if batches_here > 0 else float("nan")
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        return (f"{self.prefix} [{bar}] {done}/{self.total}  loss {loss:.4f}  "
                f"acc {100 * accuracy:5.1f}%  {self.rate(images):,.0f} img/s  "
                f"ETA {format_duration(eta)}")

    def update(self, done: int, images: int, loss: float, accuracy: float) -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if self._start_done is None:
            self._start_done = done - 1 if done > 0 else 0
        if now - self._last_draw < self.interval and done < self.total:
            return
        self._last_draw = now
        self._write(self.line(done, images, loss, accuracy))

    def _write(self, text: str) -> None:
        # Pad to the terminal width so a shorter line fully covers the previous one.
        width = max(shutil.get_terminal_size((100, 20)).columns - 1, 20)
        self.stream.write("\r" + text[:width].ljust(width))
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Erase the bar (before printing something else on a terminal)."""
        if self.tty and self._drawn:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + " " * max(columns - 1, 20) + "\r")
            self.stream.flush()
            self._drawn = False

    def finish(self, summary: str) -> None:
        """Replace the bar by ``summary`` (a terminal) or print ``summary`` (anywhere else)."""
        self.clear()
        self.stream.write(summary + "\n")
        self.stream.flush()
