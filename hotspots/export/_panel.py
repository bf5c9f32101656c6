"""The side panel of the briefing images: legends, tables and paragraphs flowing down a column,
kept above the footer (:class:`SidePanel`), and the widths of its tables' columns (:func:`table_widths`)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import style
from ..style import INK, MUTED, PLAIN_TEXT
from ._layout import DrawContext, fit_text, inch_axes

__all__ = ["SidePanel", "table_widths"]


class SidePanel:
    """Text flowing down a panel laid out in inches (1 data unit = 1 inch, y down)."""

    def __init__(self, ctx: DrawContext, x: float, y: float, w: float, h: float):
        self.ctx = ctx
        self.ax = inch_axes(ctx.fig, x, y, w, h)
        self.ax.set_xlim(0, w)
        self.ax.set_ylim(h, 0)
        self.ax.axis("off")
        self.x, self.y, self.w, self.h = x, y, w, h
        self.cursor = 0.0
        #: True once a paragraph met the panel's bottom and was cut (:meth:`para`).
        self.overflowed = False

    def line_h(self, size: float) -> float:
        return self.ctx.fs(size) / 72.0 * 1.38

    def heading(self, text: str, size: float = 9.5) -> None:
        self.cursor += self.line_h(size) * 0.35
        self.ax.text(0, self.cursor, text, fontsize=self.ctx.fs(size), fontweight="bold", color=INK, va="top", **PLAIN_TEXT)
        self.cursor += self.line_h(size) * 1.05

    def para_lines(self, text: str, size: float = 7.0) -> list[str]:
        """``text`` wrapped as :meth:`para` draws it (a number and its unit on one line: :func:`hotspots.style.keep_units`)."""
        chars = max(20, int(self.w * 72.0 / (self.ctx.fs(size) * 0.53)))
        return textwrap.wrap(style.keep_units(text), chars) or [""]

    def para(self, text: str, size: float = 7.0, colour: str = MUTED, gap: float = 0.25) -> None:
        """Draw ``text`` wrapped to the panel's width. A line that would run past the panel's bottom
        (over the footer) is not drawn: the last line that fits ends in "…" and ``overflowed`` is set."""
        lines = self.para_lines(text, size)
        step = self.line_h(size)
        for i, line in enumerate(lines):
            if self.cursor + step > self.h + 1e-9:
                self.overflowed = True
                break
            last_room = i + 1 < len(lines) and self.cursor + 2 * step > self.h + 1e-9
            shown = line.rstrip(" .,;:") + " …" if last_room else line
            self.ax.text(0, self.cursor, shown, fontsize=self.ctx.fs(size), color=colour, va="top", **PLAIN_TEXT)
            self.cursor += step
        self.cursor += step * gap

    def para_fit(self, text: str, size: float = 7.0, colour: str = MUTED, gap: float = 0.25, *, min_size: float = 4.2) -> float:
        """:meth:`para` with its font made smaller, 0.3 pt at a time down to ``min_size`` (pt), until every line
        fits above the panel's bottom: a method text is never cut (Devon and Cornwall's before/after briefing ended
        "as the periods differ in length (181 and …"). Returns the size drawn; below ``min_size`` :meth:`para` cuts."""
        room = self.h - self.cursor + 1e-9
        while size - 0.3 >= min_size and len(self.para_lines(text, size)) * self.line_h(size) > room:
            size = round(size - 0.3, 2)
        self.para(text, size=size, colour=colour, gap=gap)
        return size

    def mark(self) -> tuple[float, int, int, int]:
        """Where the panel's text has reached, and what it holds: :meth:`rewind` undoes what follows."""
        return self.cursor, len(self.ax.texts), len(self.ax.lines), len(self.ax.patches)

    def rewind(self, mark: tuple[float, int, int, int]) -> None:
        """Remove what was drawn since ``mark`` (from :meth:`mark`) and move the cursor back to it:
        a layout that overflowed the panel is redrawn with less in it."""
        cursor, n_texts, n_lines, n_patches = mark
        for artist in list(self.ax.texts[n_texts:]) + list(self.ax.lines[n_lines:]) + list(self.ax.patches[n_patches:]):
            artist.remove()
        self.cursor = cursor
        self.overflowed = False

    def patch(self, colour: str, label: str, *, edge: str = MUTED, hatch: str | None = None, marker: str | None = None,
              size: float = 7.2, lw: float = 0.6, ls: Any = "solid") -> None:
        s = self.line_h(size)
        if marker:
            self.ax.plot([0.12], [self.cursor + s * 0.5], marker=marker, color=colour, markersize=self.ctx.fs(6),
                         markeredgecolor="white", markeredgewidth=0.5, linestyle="none")
        else:
            self.ax.add_patch(Rectangle((0, self.cursor + s * 0.1), 0.26, s * 0.78, facecolor=colour, edgecolor=edge,
                                        linewidth=lw, hatch=hatch, linestyle=ls))
        self.ax.text(0.36, self.cursor + s * 0.5, label, fontsize=self.ctx.fs(size), color=INK, va="center", **PLAIN_TEXT)
        self.cursor += s * 1.12

    def colourbar(self, cmap: str, norm: Any, label: str, ticks: Sequence[float] | None = None) -> Any:
        self.cursor += 0.05
        bar_h = 0.16 * self.ctx.scale
        top_in = self.y + self.h - self.cursor - bar_h
        cax = inch_axes(self.ctx.fig, self.x, top_in, self.w * 0.92, bar_h)
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = self.ctx.fig.colorbar(sm, cax=cax, orientation="horizontal")
        if ticks is not None:
            cb.set_ticks(list(ticks))
            cb.set_ticklabels([style.tick_label(t) for t in ticks], **PLAIN_TEXT)
        cb.ax.tick_params(labelsize=self.ctx.fs(6.5), length=2)
        cb.outline.set_linewidth(0.5)
        self.cursor += bar_h + self.line_h(6.5) * 1.6
        self.para(label, size=7.0, colour=INK, gap=0.3)
        return cb

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], size: float = 6.8,
              align: list[str] | None = None, flex: int | None = None) -> None:
        """Draw a table: ``widths`` are the columns' shares of the panel's width; with ``flex`` (a
        column's index) every other column is as wide as its widest cell or header (as drawn) and
        ``flex`` takes the rest, so a street name is cut with "…" only when the numbers leave it no room."""
        s = self.line_h(size)
        align = align or ["left"] * len(header)
        if flex is not None:
            widths = table_widths(self.ctx.fig, header, rows, self.ctx.fs(size), self.w, flex, fallback=widths)
        total = sum(widths)
        xs = np.cumsum([0.0] + [w / total * self.w for w in widths])
        for i, h in enumerate(header):
            x = xs[i] if align[i] == "left" else xs[i + 1] - 0.04
            self.ax.text(x, self.cursor, h, fontsize=self.ctx.fs(size), fontweight="bold", color=INK, va="top", ha=align[i],
                         **PLAIN_TEXT)
        self.cursor += s * 1.05
        self.ax.plot([0, self.w], [self.cursor - s * 0.12] * 2, color="#999999", linewidth=0.5)
        for r in rows:
            for i, v in enumerate(r):
                x = xs[i] if align[i] == "left" else xs[i + 1] - 0.04
                if align[i] == "left":  # a name too long for its column ends in "…" (never runs into the next)
                    v = fit_text(self.ctx.fig, v, self.ctx.fs(size), xs[i + 1] - xs[i] - 0.06)
                self.ax.text(x, self.cursor, v, fontsize=self.ctx.fs(size), color=INK, va="top", ha=align[i], **PLAIN_TEXT)
            self.cursor += s
        self.cursor += s * 0.4

    @property
    def remaining(self) -> float:
        return self.h - self.cursor


def table_widths(fig: Figure, header: Sequence[str], rows: Sequence[Sequence[str]], fontsize: float, width_in: float,
                 flex: int, fallback: Sequence[float], pad_in: float = 0.1) -> list[float]:
    """Column widths in inches for a table ``width_in`` wide: each column but ``flex`` as wide as its
    widest cell (or bold header) measured by the figure's renderer, plus ``pad_in``; ``flex`` the rest.
    When that leaves ``flex`` less than its share of ``fallback`` (relative widths), ``fallback``."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()

    def measure(text: str, weight: str) -> float:
        font = FontProperties(size=fontsize, weight=weight)
        return renderer.get_text_width_height_descent(str(text), font, ismath=False)[0] / fig.dpi

    out = [max([measure(h, "bold")] + [measure(r[i], "normal") for r in rows if i < len(r)]) + pad_in
           for i, h in enumerate(header)]
    out[flex] = width_in - (sum(out) - out[flex])
    share = fallback[flex] / sum(fallback) * width_in
    return list(fallback) if out[flex] < share else out
