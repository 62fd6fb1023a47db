"""Sweetviz made faster, in the report's process only (`training.outputs.report_worker` applies
it).

Sweetviz 2.3.3 (pinned) spends most of its time in matplotlib: it draws five graphs for each
number column (a summary and four detail histograms: "Auto", 5, 15 and 30 bins), and lays out
the text of each graph three times. What this changes, each patch named in `PATCHED`:

* `Graph._get_extra_padding_for_text` measures a graph's text to widen its margins where a label
  would be clipped. It draws the whole figure to do so, in each of its two passes, and `savefig`
  then draws it a third time. The text extents need no drawing: `_padding_without_drawing`
  measures the same artists, the same way, from their layout alone, so the graphs come out
  pixel for pixel the same. Where a figure has text only a draw places (an axis label, a title,
  an offset such as "1e6"), Sweetviz's own measure runs.
* `Graph.set_style` registers Sweetviz's two fonts again for every graph (one a 17 MB font
  collection); each registration empties matplotlib's font cache too, so every graph looks its
  fonts up again in a list that grows with each graph. `_set_style_once` registers them once.
* `series_analyzer_numeric.GraphNumeric` is what draws the number columns' graphs: when asked
  (`apply(histograms=...)`), `_graph_numeric` skips detail histograms Sweetviz would draw with
  other bin counts (Sweetviz leaves out a graph that comes back empty). Only
  `training.outputs.report`'s plan asks for that, when the report could not cover every column
  otherwise.

`check_sweetviz` refuses any Sweetviz whose patched or relied-upon functions differ from those
these patches were written for (signature and source); the report then runs unpatched (slower,
the same). tests/training/test_report.py fails on such a Sweetviz, and compares the graphs'
pixels with and without the patches.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SWEETVIZ_VERSION = "2.3.3"
ALL_HISTOGRAMS = (0, 5, 15, 30)  # Sweetviz's, in series_analyzer_numeric.analyze; 0 is "Auto"

# module, attribute path -> (parameters, sha256 of the source's first 16 hex digits).
# Replaced by this module:
PATCHED: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("sweetviz.graph", "Graph._get_extra_padding_for_text"): (
        ("figure", "minimum_padding_pixels"),
        "dac88bb70d61212a",
    ),
    ("sweetviz.graph", "Graph.set_style"): (
        ("style_filename_list", "can_use_cjk"),
        "fd688ac0c3bba1a8",
    ),
    ("sweetviz.series_analyzer_numeric", "GraphNumeric.__init__"): (
        ("self", "which_graph", "to_process"),
        "6e93d5792a6669ca",
    ),
}
# Called by the replacements, or calling them, as they are:
USED: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("sweetviz.graph", "Graph._iter_padding_artists"): (("axis",), "f98ed183e16b1259"),
    ("sweetviz.graph", "Graph._normalize_padding_values"): (("padding_value",), "778ff6519ce0a6cc"),
    ("sweetviz.graph", "Graph.apply_pixel_padding"): (
        ("figure", "minimum_padding_pixels", "minimum_text_padding_pixels", "max_passes"),
        "78a340d48385e315",
    ),
    # Draws GraphNumeric("detail-<bins>", ...) for bins in ALL_HISTOGRAMS, keeps the truthy ones.
    ("sweetviz.series_analyzer_numeric", "analyze"): (
        ("to_process", "feature_dict"),
        "4516b377857cb6e7",
    ),
}


@dataclass
class _State:
    histograms: tuple[int, ...] = ALL_HISTOGRAMS
    fonts_registered: bool = False


_lock = threading.Lock()
_originals: dict[str, Any] = {}
_state = _State()
_styles: dict[tuple[str, ...], list[Any]] = {}


class SweetvizChanged(RuntimeError):
    """The installed Sweetviz is not the one these patches were written for."""


def check_sweetviz() -> None:
    """Raise `SweetvizChanged` unless every function patched or relied on is as expected."""
    import sweetviz

    if sweetviz.__version__ != SWEETVIZ_VERSION:
        raise SweetvizChanged(f"sweetviz {sweetviz.__version__}, not {SWEETVIZ_VERSION}")
    for (module, path), (parameters, digest) in {**PATCHED, **USED}.items():
        function = _original(module, path)
        where = f"{module}.{path}"
        if not callable(function):
            raise SweetvizChanged(f"{where} is gone")
        found = tuple(inspect.signature(function).parameters)
        if found != parameters:
            raise SweetvizChanged(f"{where}{found}: expected {parameters}")
        if source_digest(function) != digest:
            raise SweetvizChanged(f"{where} is not the code these patches were written for")


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def _original(module: str, path: str) -> Any:
    """The function at `path` in `module` as Sweetviz has it, patched or not."""
    owner: Any = importlib.import_module(module)
    for part in path.split(".")[:-1]:
        owner = _originals.get(f"{module}.{part}", getattr(owner, part, None))
    name = path.rsplit(".", maxsplit=1)[-1]
    found = _originals.get(f"{module}.{path}") or inspect.getattr_static(owner, name, None)
    return found.__func__ if isinstance(found, staticmethod) else found


def apply(histograms: tuple[int, ...] = ALL_HISTOGRAMS) -> None:
    """Patch Sweetviz in this process; `histograms`: the detail histograms of number columns
    to draw (of `ALL_HISTOGRAMS`). Raises `SweetvizChanged` (patching nothing) on another
    Sweetviz. Call it again to change `histograms`."""
    import sweetviz.series_analyzer_numeric as numeric
    from sweetviz.graph import Graph

    chosen = tuple(bins for bins in ALL_HISTOGRAMS if bins in histograms) or ALL_HISTOGRAMS[:1]
    with _lock:
        if not _originals:
            check_sweetviz()
            _originals["sweetviz.graph.Graph._get_extra_padding_for_text"] = (
                Graph._get_extra_padding_for_text
            )
            _originals["sweetviz.graph.Graph.set_style"] = Graph.set_style
            _originals["sweetviz.series_analyzer_numeric.GraphNumeric"] = numeric.GraphNumeric
            Graph._get_extra_padding_for_text = staticmethod(_padding_without_drawing)
            Graph.set_style = staticmethod(_set_style_once)
            numeric.GraphNumeric = _graph_numeric
        _state.histograms = chosen


def undo() -> None:
    """Sweetviz as it was (for tests: the report's process never needs it)."""
    import sweetviz.series_analyzer_numeric as numeric
    from sweetviz.graph import Graph

    with _lock:
        if not _originals:
            return
        Graph._get_extra_padding_for_text = staticmethod(
            _originals.pop("sweetviz.graph.Graph._get_extra_padding_for_text")
        )
        Graph.set_style = staticmethod(_originals.pop("sweetviz.graph.Graph.set_style"))
        numeric.GraphNumeric = _originals.pop("sweetviz.series_analyzer_numeric.GraphNumeric")
        _state.histograms = ALL_HISTOGRAMS


def applied() -> bool:
    return bool(_originals)


def _graph_numeric(which_graph: str, to_process: Any) -> Any:
    """`GraphNumeric(which_graph, to_process)`, or None for a detail histogram not wanted."""
    if (
        which_graph.startswith("detail-")
        and int(which_graph.split("-")[1]) not in _state.histograms
    ):
        return None
    return _originals["sweetviz.series_analyzer_numeric.GraphNumeric"](which_graph, to_process)


def _padding_without_drawing(figure: Any, minimum_padding_pixels: Any) -> list[float]:
    """Sweetviz's `_get_extra_padding_for_text`, from the text layout alone (no draw).

    Tick labels are placed when they are asked for (`get_xticklabels` updates the ticks), so
    their extents are the ones a draw gives. Axis labels, titles and offset texts are placed
    by a draw only: figures with any of them get Sweetviz's own measure.
    """
    from sweetviz.graph import Graph

    if any(_placed_by_drawing(axes) for axes in figure.axes):
        original = _originals["sweetviz.graph.Graph._get_extra_padding_for_text"]
        return original(figure, minimum_padding_pixels)
    required = Graph._normalize_padding_values(minimum_padding_pixels)
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    tightest: list[float | None] = [None, None, None, None]
    for axes in figure.axes:
        for artist in Graph._iter_padding_artists(axes):
            if artist is None or not artist.get_visible():
                continue
            if hasattr(artist, "get_text") and artist.get_text() == "":
                continue
            try:
                extent = artist.get_window_extent(renderer=renderer)
            except Exception:
                continue
            if extent.width == 0 and extent.height == 0:
                continue
            margins = [
                box.y1 - extent.y1,
                extent.x0 - box.x0,
                extent.y0 - box.y0,
                box.x1 - extent.x1,
            ]
            for index, margin in enumerate(margins):
                current = tightest[index]
                if current is None or margin < current:
                    tightest[index] = margin
    extra = []
    for need, actual in zip(required, tightest, strict=True):
        have = need if actual is None else actual
        extra.append(max(0.0, float(need) - have))
    return extra


def _placed_by_drawing(axes: Any) -> bool:
    if any(axes.get_title(loc=loc) for loc in ("center", "left", "right")):
        return True
    for axis in (axes.xaxis, axes.yaxis):
        if axis.label.get_text():
            return True
        axis.get_majorticklabels()  # updates the ticks and gives the formatter their places
        if axis.get_major_formatter().get_offset():
            return True
    return False


def _set_style_once(style_filename_list: list[str], can_use_cjk: bool = True) -> None:
    """Sweetviz's `Graph.set_style`, registering its fonts and reading its styles once."""
    import matplotlib.pyplot as plt
    import sweetviz.graph
    from matplotlib import font_manager, rc_params_from_file
    from sweetviz.config import config

    here = Path(sweetviz.graph.__file__).parent
    with _lock:
        if not _state.fonts_registered:
            for font in font_manager.findSystemFonts(fontpaths=(here / "fonts",)):
                font_manager.fontManager.addfont(font)
            _state.fonts_registered = True
        key = tuple(style_filename_list)
        if key not in _styles:
            paths = [here / "mpl_styles" / name for name in style_filename_list]
            _styles[key] = [rc_params_from_file(p, use_default_template=False) for p in paths]
    plt.style.use(_styles[key])
    if config["General"].getint("use_cjk_font") != 0 and can_use_cjk:
        plt.rcParams["font.family"] = "Noto Sans CJK JP"
