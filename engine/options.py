"""Checking options against a plugin factory's signature before anything is built or run."""

from __future__ import annotations

import collections.abc as cabc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from engine.names import closest

_MISSING = object()


def declared_options(target: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The keyword options a factory (class or function) accepts, by name."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: p for name, p in signature.parameters.items() if p.kind in kinds}


def accepts_any_option(target: Callable[..., Any]) -> bool:
    """Whether the factory takes **kwargs, so that unknown names cannot be judged."""
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def option_problems(
    target: Callable[..., Any], options: Mapping[str, Any], *, where: str, skip: int = 0, noun: str = "option"
) -> list[str]:
    """Every problem with `options` for `target`: unknown names, wrong types, required ones left out.

    `skip` leaves out that many leading parameters (a step runner's plugin and flow).
    """
    declared = dict(list(declared_options(target).items())[skip:])
    hints = _type_hints(target)
    problems = []
    for key, value in options.items():
        param = declared.get(key)
        if param is None:
            if accepts_any_option(target):
                continue
            match = closest(key, declared)
            hint = f" Did you mean '{match}'?" if match else ""
            known = ", ".join(declared) or "none"
            problems.append(f"{where} has no {noun} '{key}'.{hint} Its {noun}s are: {known}.")
            continue
        expected = hints.get(key, _MISSING)
        if expected is not _MISSING and not matches(value, expected):
            problems.append(
                f"{where}: {noun} '{key}' must be {describe(expected)}, got {type(value).__name__} {value!r:.60}"
            )
    for name, param in declared.items():
        if param.default is inspect.Parameter.empty and name not in options:
            problems.append(f"{where}: {noun} '{name}' is required")
    return problems


def _type_hints(target: Callable[..., Any]) -> dict[str, Any]:
    func = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(func)
    except Exception:
        return {}


def matches(value: Any, expected: Any) -> bool:
    """Whether `value` fits the annotation `expected`; what cannot be judged counts as a fit."""
    if expected is Any or expected is inspect.Parameter.empty:
        return True
    if expected is None or expected is type(None):
        return value is None
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple, set, frozenset, cabc.Sequence, cabc.Iterable, cabc.Collection):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            return False
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],)
        elif origin is tuple and args:
            return len(args) == len(value) and all(matches(v, a) for v, a in zip(value, args))
        return not args or all(matches(v, args[0]) for v in value)
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        if not isinstance(value, cabc.Mapping):
            return False
        if len(args) == 2:
            return all(matches(k, args[0]) and matches(v, args[1]) for k, v in value.items())
        return True
    if origin is cabc.Callable or expected is cabc.Callable:
        return callable(value)
    if inspect.isclass(expected) and not typing.get_args(expected):
        try:
            return isinstance(value, expected)
        except TypeError:
            return True
    return True


def describe(expected: Any) -> str:
    """An annotation as a person would read it: 'int', 'one of 'a', 'b'', 'list of str or None'."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if expected is type(None) or expected is None:
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple, set, frozenset, cabc.Sequence, cabc.Iterable, cabc.Collection):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        return "a table (mapping)"
    return getattr(expected, "__name__", str(expected))
