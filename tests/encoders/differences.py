"""The documented differences between `onehot` and scikit-learn, read from PLUGINS.md: the tables
between `<!-- NAME -->` and `<!-- end NAME -->` list, per row, a test-id pattern and the reason.
The conformance tests mark exactly these as strict expected failures, so PLUGINS.md and the tests
cannot disagree."""

from __future__ import annotations

import re
from pathlib import Path

PLUGINS_MD = Path(__file__).resolve().parents[2] / "PLUGINS.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$")


def documented(section: str) -> dict[str, str]:
    """Pattern -> reason for every row of the section's table in PLUGINS.md."""
    text = PLUGINS_MD.read_text(encoding="utf-8")
    start, end = f"<!-- {section} -->", f"<!-- end {section} -->"
    if start not in text or end not in text:
        raise AssertionError(f"PLUGINS.md has no {start} ... {end} section")
    body = text.split(start, 1)[1].split(end, 1)[0]
    rows = (_ROW.match(line) for line in body.splitlines())
    return {row.group(1): row.group(2) for row in rows if row}


def reason_for(test_id: str, differences: dict[str, str]) -> str | None:
    """The documented reason of the first pattern matching `test_id` (`*` matches anything, every
    other character itself, brackets included), or None."""
    for pattern, reason in differences.items():
        if matches(test_id, pattern):
            return reason
    return None


def matches(test_id: str, pattern: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), test_id) is not None
