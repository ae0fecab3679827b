"""What the browser tests read off a widget: its status texts in order, its bar's value."""

from __future__ import annotations

import math

#: Every text the widget puts in its status line, in order, kept in ``window.statusTexts``
#: (a MutationObserver from the first byte of the page on: no state is missed, however short).
RECORD_STATUS_TEXTS = """
window.statusTexts = [];
new MutationObserver((records) => {
  for (const record of records) {
    const target = record.target.nodeType === 1 ? record.target : record.target.parentElement;
    if (!target || !target.matches(".jobtastic-status")) continue;
    for (const node of record.addedNodes) window.statusTexts.push(node.textContent);
  }
}).observe(document, { childList: true, characterData: true, subtree: true });
"""


#: A browser without EventSource: the widget polls, as it does when the stream fails or the
#: site runs under WSGI (the example runs under uvicorn, so its widgets would be pushed to).
POLL_ONLY = "delete window.EventSource;"


def bar_value(percent: float) -> str:
    """``aria-valuenow`` for ``percent``, rounded as JavaScript's Math.round does."""
    return str(math.floor(percent + 0.5))
