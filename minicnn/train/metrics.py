"""The run folder's metrics: ``metrics.csv`` (one row per epoch) and ``curves.png``.

Both are rewritten whole from the run's history after every epoch, each
through a temporary file and a rename, so they always describe exactly the
epochs of the latest checkpoint (also after a resume) and are never left
half-written.
"""
import csv
import io

from .checkpoint import atomic_write

__all__ = ["COLUMNS", "write_metrics_csv", "read_metrics_csv", "plot_curves"]

COLUMNS = ("epoch", "step", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
           "epoch_seconds", "images_per_second")


def _format(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def write_metrics_csv(path, history) -> None:
    """``history``: a list of dicts with the keys of :data:`COLUMNS`."""
    write_rows_csv(path, COLUMNS, history)


def write_rows_csv(path, columns, rows) -> None:
    """A CSV of ``rows`` (dicts) under the header ``columns``, written atomically (floats to
    6 significant digits; a missing key or None is an empty cell)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format(row.get(column, "")) for column in columns])
    atomic_write(path, lambda stream: stream.write(text.getvalue().encode()))


def save_png(path, figure) -> None:
    """Render a matplotlib ``figure`` to PNG and write it atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))


def read_metrics_csv(path) -> list:
    """The rows of a metrics.csv as dicts of floats (``epoch`` and ``step`` as ints)."""
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    out = []
    for row in rows:
        out.append({k: (int(v) if k in ("epoch", "step") else float(v)) for k, v in row.items()
                    if v != ""})
    return out


def plot_curves(path, history, title: str = "") -> bool:
    """Loss (left) and accuracy (right) per epoch, train and test, as a PNG.

    Uses matplotlib's object API with the Agg canvas (no pyplot, so no global
    backend is changed in the caller's process). Returns False (and writes
    nothing) when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return False
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [row["train_loss"] for row in history], "o-", label="train", ms=3)
    loss_axes.plot(epochs, [row["test_loss"] for row in history], "s-", label="test", ms=3)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("cross-entropy loss")
    loss_axes.set_yscale("log")
    loss_axes.legend()
    loss_axes.grid(alpha=0.3)
    accuracy_axes.plot(epochs, [100 * row["train_acc"] for row in history], "o-", label="train",
                       ms=3)
    accuracy_axes.plot(epochs, [100 * row["test_acc"] for row in history], "s-", label="test",
                       ms=3)
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy (%)")
    best = max(history, key=lambda row: row["test_acc"]) if history else None
    if best is not None:
        accuracy_axes.set_title(f"best test {100 * best['test_acc']:.2f}% (epoch {best['epoch']})",
                                fontsize=10)
    accuracy_axes.legend(loc="lower right")
    accuracy_axes.grid(alpha=0.3)
    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    save_png(path, figure)
    return True
