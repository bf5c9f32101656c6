"""Rows of widgets the app repeats: an error box, download buttons, metric cards (imports
Streamlit; ``app.py`` only). What they show is made elsewhere: cards by
:mod:`hotspots.app_support.views`, files by :mod:`hotspots.app_support.downloads`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from .._errors import HotspotsError
from .text import md_text

__all__ = ["show_error", "downloads", "metrics"]


def show_error(exc: BaseException) -> None:
    """An error box: our own errors as they are worded, anything else named as unexpected."""
    st.error(md_text(str(exc) if isinstance(exc, HotspotsError) else f"Unexpected problem ({type(exc).__name__}): {exc}"))


def downloads(items: Sequence[Any]) -> None:
    """A row of download buttons (:class:`hotspots.app_support.Download`); each file is made on click."""
    for col, d in zip(st.columns(len(items)), items):
        col.download_button(d.label, data=d.make, file_name=d.file_name, mime=d.mime, key=d.key, on_click="ignore")


def metrics(items: Sequence[Any]) -> None:
    """A row of cards (label, value, help): :class:`hotspots.app_support.Metric` or :class:`~hotspots.app_support.Card`."""
    for col, m in zip(st.columns(len(items)), items):
        col.metric(m.label, m.value, help=md_text(m.help) if m.help else None)
