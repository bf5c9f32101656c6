"""Maps on the page: streamlit-folium's map component (its browser code, unchanged) fed with the
text made once by :mod:`hotspots.app_support.drawn` (imports Streamlit; ``app.py`` only)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import streamlit.components.v1 as components
import streamlit_folium

from .drawn import DrawnLayer, DrawnMap, component_args

__all__ = ["show_map"]

#: streamlit-folium's built browser component, declared for the arguments made here.
_MAP = components.declare_component(
    "st_folium", path=os.path.join(os.path.dirname(streamlit_folium.__file__), "frontend", "build")
)


def show_map(drawn: DrawnMap, layers: Sequence[DrawnLayer], *, key: str, height: int) -> Any:
    """Draw ``drawn`` with ``layers`` on it (the layers replace the previous ones in the same map
    frame, as with ``st_folium(..., feature_group_to_add=...)``)."""
    return _MAP(**component_args(drawn, layers, key=key, height=height))
