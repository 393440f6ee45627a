"""Normalising plugin names and suggesting close matches for misspelt ones."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_VALID = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")


def normalize(name: str) -> str:
    """Lower-case, strip surrounding space and treat '_' as '-' so 'Sklearn_OneHot ' == 'sklearn-onehot'."""
    return name.strip().lower().replace("_", "-")


def is_valid(name: str) -> bool:
    """Whether a normalised name is usable: letters, digits, '.', '+', '-', starting with a letter or digit."""
    return bool(_VALID.match(name))


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name`, or None when nothing is close."""
    matches = difflib.get_close_matches(normalize(name), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean 'x'?' or an empty string."""
    match = closest(name, candidates)
    return f" Did you mean '{match}'?" if match else ""
