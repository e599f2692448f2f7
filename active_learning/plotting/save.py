"""Saving figures: byte-stable PNGs with their caption and source as text chunks, rewritten only when they change;
captions and titles without references to the internal specification."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Optional

#: A reference to the internal specification (``spec sections 3.3 and 3.8``, ``spec §4.2``, ``spec 3.2``) that some
#: descriptions carry: users have the papers, not the specification, so figures and the report leave it out.
_SPEC_REFERENCE = re.compile(
    r"[,;]?[ \t]*\bspec(?:ification)?[ \t]*(?:sections?[ \t]*|§[ \t]*)?\d+(?:\.\d+)*"
    r"(?:[ \t]*(?:,|and|&|–|-)[ \t]*§?\d+(?:\.\d+)*)*",
    re.IGNORECASE,
)


def without_spec_references(text: str) -> str:
    """``text`` without references to the internal specification's sections, tidied: ``"ActiveLab Wall Robot
    benchmark (Goh & Mueller 2023, spec sections 3.3 and 3.8; the paper's data)"`` -> ``"ActiveLab Wall Robot
    benchmark (Goh & Mueller 2023; the paper's data)"``. The papers' own citations (author year) stay."""
    out = _SPEC_REFERENCE.sub("", str(text))
    out = re.sub(r"\([ \t]*[,;:][ \t]*", "(", out)  # "(spec 4.3: ..." -> "(..."
    return re.sub(r"[ \t]*\([ \t]*\)", "", out)  # "(spec 4.2)" -> ""


def _png_bytes(fig: Any, dpi: float, metadata: Mapping[str, Optional[str]]) -> bytes:
    import io

    buffer = io.BytesIO()
    # no "Software" (the matplotlib version) and no date: the bytes depend on the figure alone
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None, **metadata})
    return buffer.getvalue()


def _same_image(old: bytes, new: bytes) -> bool:
    """Equal bytes, or equal pixels and text chunks (another zlib may compress the same image differently)."""
    if old == new:
        return True
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(old)) as a, Image.open(io.BytesIO(new)) as b:
            same_text = {k: v for k, v in a.info.items() if k != "dpi"} == {k: v for k, v in b.info.items() if k != "dpi"}
            return bool(same_text and a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes())
    except (OSError, UnidentifiedImageError, ValueError):
        return False


def save_figure(fig: Any, path: "str | Path", *, dpi: float = 120, description: Optional[str] = None,
                source: Optional[str] = None, close: bool = True) -> bool:
    """Write ``fig`` as a PNG at ``path``, byte-stable, and only when its content changed.

    The PNG carries no software version and no date, at a fixed ``dpi`` and the figure's own size (no tight bounding
    box), so the same figure of the same results gives the same bytes. An existing file with the same image (the
    same bytes, or the same pixels and text) is left alone, so redrawing finished results rewrites nothing; otherwise
    the file is replaced atomically.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path
    dpi : float
    description : str, optional
        The figure's caption (PNG text ``Description``; the report shows it).
    source : str, optional
        What the figure was drawn from (PNG text ``Source``, :func:`~active_learning.results.results_stamp`).
    close : bool
        Close the figure afterwards.

    Returns
    -------
    bool
        Whether the file was written.
    """
    import matplotlib.pyplot as plt

    from ..utils.io import atomic_write

    path = Path(path)
    metadata = {key: value for key, value in (("Description", description), ("Source", source)) if value}
    data = _png_bytes(fig, dpi, metadata)
    if close:
        plt.close(fig)
    if path.is_file() and _same_image(path.read_bytes(), data):
        return False
    atomic_write(path, lambda handle: handle.write(data))
    return True
