"""Cap how deeply an HTML page nests before lexbor parses it.

lexbor (selectolax) builds the tree as the HTML standard says: each block start tag
(<div>, <p>, <ul>…) and each end tag walks the stack of open elements, so parsing costs
grow with the square of the nesting depth: 20,000 nested divs take 0.7-4 s on 2 cores,
100,000 take about 40 s. No real page nests that deep (Blink's parser stops nesting at
512, kMaximumHTMLParserDOMTreeDepth), so a cheap scan of the tags drops every tag that
would open deeper than MAX_DEPTH, and its end tag; the text inside stays, and so do the
links of a dropped tag (as text), so posts in it are still found, only the nesting and
the embed markup past that depth are lost.
"""

from __future__ import annotations

import re

MAX_DEPTH = 512

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>|<!--.*?-->", re.S)
# Elements that never hold others, and those the parser closes by itself when the next
# one starts (a run of them does not nest; an open <a> is closed by the next <a>, so
# links are kept whatever their depth).
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "keygen"}
)
_SELF_CLOSING = frozenset(
    {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody"}
    | {"tfoot", "colgroup", "caption", "rb", "rt", "rp", "a"}
)
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "noscript", "template", "iframe"}
)
# A dropped tag leaves its links behind as text, where the text pass still finds posts.
_LINK_ATTR = re.compile(r"""\b(?:href|src|cite)\s*=\s*["']?([^"'\s>]+)""", re.I)


def cap_depth(html: str, max_depth: int = MAX_DEPTH) -> tuple[str, int]:
    """The page with the tags nested deeper than `max_depth` removed, and how many were."""
    if html.count("<") <= max_depth:  # cannot nest that deep: nothing to scan
        return html, 0
    parts: list[str] = []
    dropped = 0
    depth = 0
    start = 0  # of the text not yet copied
    pos = 0
    while (m := _TAG.search(html, pos)) is not None:
        pos = m.end()
        name = (m.group(2) or "").lower()
        if not name:  # a comment
            continue
        closing = m.group(1) == "/"
        if name in _VOID or name in _SELF_CLOSING or m.group(0).endswith("/>"):
            continue
        if closing:
            drop = depth > max_depth
            depth = max(0, depth - 1)
        else:
            depth += 1
            drop = depth > max_depth
            if name in _RAW_TEXT:  # its content is text, not tags: skip to its end tag
                end = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(html, pos)
                if not drop:
                    depth -= 1
                    pos = end.end() if end else len(html)
                    continue
        if drop:
            links = _LINK_ATTR.findall(m.group(0)) if not closing else []
            parts.append(html[start : m.start()])
            parts.append(f" {' '.join(links)} " if links else "")
            start = m.end()
            dropped += 1
    if not dropped:
        return html, 0
    parts.append(html[start:])
    return "".join(parts), dropped
