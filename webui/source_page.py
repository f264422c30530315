"""A source shown in place: a PDF page rendered by PDFium with the passage's rectangles
highlighted, or a text file's surrounding lines with the passage marked. No Streamlit here.

The passage's offsets are in the document's `context` text, which PDFium's page text became after
normalisation (rlm_engine.corpus_pdf); the page's own characters are found again by matching
letters and digits only, so that the highlight lands on the right glyphs whatever the
normalisation changed (line ends, hyphens, control characters).
"""

from __future__ import annotations

import io
import re

from rlm_engine.corpus_pdf import _PDFIUM_LOCK
from rlm_engine.sources.text import canonical
from webui.safe_text import safe_html

SCALE = 1.5  # pixels per PDF point: a readable page at 918 px for A4/Letter width
_ALNUM = re.compile(r"[^\W_]")
HIGHLIGHT = (255, 214, 0, 110)  # translucent yellow
OUTLINE = (214, 140, 0, 255)


def locate(page_text: str, passage: str) -> tuple[int, int] | None:
    """[start, end) of `passage` in `page_text`, comparing letters and digits only."""
    positions = [m.start() for m in _ALNUM.finditer(page_text)]
    target = canonical(passage)
    if not target:
        return None
    found = "".join(page_text[i] for i in positions).find(target)
    if found < 0:
        return None
    return positions[found], positions[found + len(target) - 1] + 1


def render_pdf_page(data: bytes, page: int, passage: str) -> tuple[bytes, int]:
    """PNG bytes of page `page` (1-based) with the passage highlighted, and how many rectangles
    were drawn (0: the passage could not be found on the page's glyphs)."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    with _PDFIUM_LOCK:  # PDFium is not thread-safe
        pdf = pdfium.PdfDocument(data)
        try:
            pdf_page = pdf[page - 1]
            try:
                textpage = pdf_page.get_textpage()
                try:
                    span = locate(textpage.get_text_range(), passage)
                    rects = []
                    if span is not None:
                        count = textpage.count_rects(span[0], span[1] - span[0])
                        rects = [textpage.get_rect(i) for i in range(count)]
                finally:
                    textpage.close()
                height = pdf_page.get_height()
                image = pdf_page.render(scale=SCALE).to_pil().convert("RGB")
            finally:
                pdf_page.close()
        finally:
            pdf.close()
    draw = ImageDraw.Draw(image, "RGBA")
    for left, bottom, right, top in rects:
        box = [
            left * SCALE - 2,
            (height - top) * SCALE - 2,
            right * SCALE + 2,
            (height - bottom) * SCALE + 2,
        ]
        draw.rectangle(box, fill=HIGHLIGHT, outline=OUTLINE)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), len(rects)


def text_excerpt_html(text: str, start: int, end: int, *, lines: int = 4, limit: int = 1500) -> str:
    """The lines around text[start:end], the passage marked; every character escaped."""
    begin = start
    for _ in range(lines + 1):
        found = text.rfind("\n", max(0, start - limit), begin - 1) if begin > 0 else -1
        if found < 0:
            begin = max(0, start - limit) if start - limit > 0 else 0
            break
        begin = found + 1
    stop = end
    for _ in range(lines):
        found = text.find("\n", stop + 1, end + limit)
        if found < 0:
            stop = min(len(text), end + limit)
            break
        stop = found
    before, passage, after = text[begin:start], text[start:end], text[end:stop]
    return (
        '<pre class="rlm-source-excerpt" style="white-space: pre-wrap; font-size: 0.85rem;">'
        f"{safe_html(before)}<mark>{safe_html(passage)}</mark>{safe_html(after)}</pre>"
    )


def quote_html(text: str, marks: list[tuple[int, int]], *, width: int = 240) -> str:
    """A short quote of a source, the spans `marks` (the answer's parts) highlighted."""
    if marks:
        centre = marks[0][0]
        lo = max(0, centre - width // 3)
    else:
        lo = 0
    hi = min(len(text), lo + width)
    pieces, at = [], lo
    for s, e in sorted(marks):
        s, e = max(s, lo), min(e, hi)
        if s >= e or s < at:
            continue
        pieces.append(safe_html(_flat(text[at:s])))
        pieces.append(f"<mark>{safe_html(_flat(text[s:e]))}</mark>")
        at = e
    pieces.append(safe_html(_flat(text[at:hi])))
    lead = "…" if lo > 0 else ""
    tail = "…" if hi < len(text) else ""
    return f'<span class="rlm-source-quote">{lead}{"".join(pieces)}{tail}</span>'


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)
