"""Reaching a Ray cluster for one run: the `ray` extra checked, an address checked before anything
runs, a local cluster started when none is named (the option, else Ray's own RAY_ADDRESS), and shut
down however the run ends (Ctrl-C too)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
from collections.abc import Iterator
from typing import Any

from engine.errors import ConfigError, PluginMissingError

CONNECT_TIMEOUT_S = 5.0
"""How long a named head node may take to accept a connection before the run is refused."""


def require_ray() -> None:
    """Ray Data must be importable; else say which extra installs it."""
    if importlib.util.find_spec("ray") is None:
        raise PluginMissingError("the ray executor needs Ray: pip install 'hookyard[ray]' (ray[data])")


def cluster_address(address: str | None) -> tuple[str | None, str]:
    """The cluster a run joins, and what named it: `address` ("address"), else the RAY_ADDRESS variable
    (Ray's own, which `ray job submit` sets for its jobs). None (or "local") starts a cluster of the
    run's own, even where another one runs on this machine: Ray itself would join a `ray start`
    cluster it finds, and then refuse the run's `num_cpus`."""
    origin = "address" if address else "RAY_ADDRESS"
    chosen = address or os.environ.get("RAY_ADDRESS") or None
    return (None if chosen == "local" else chosen), origin


def check_address(address: str | None, origin: str = "address") -> None:
    """A "host:port" address must accept a TCP connection (a Ray head node's GCS port); "auto" and
    "ray://" client addresses are left to Ray, which raises at once when nothing answers. `origin` is
    what named it (the option or RAY_ADDRESS), for the error."""
    if address is None or address == "auto" or address.startswith("ray://"):
        return
    unset = _unset(origin)
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"ray executor: {origin} {address!r} is not host:port (for example 127.0.0.1:6379), "
                          f"'auto' or ray://host:10001; or {unset} to start a local cluster")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise ConfigError(f"ray executor: no Ray cluster answers at {address!r} (the {origin}; {exc}); start one "
                          f"with `ray start --head` and pass the address it prints, or {unset} to start a local "
                          "cluster") from None


@contextlib.contextmanager
def connected(address: str | None, num_cpus: int | None) -> Iterator[Any]:
    """Ray, initialised for the run: an existing connection of this process is used as it is; else the
    cluster at `address` (see `cluster_address`), or a new local one with `num_cpus` CPUs when None.
    What this call started or connected is shut down when the run ends, whether it finished, failed
    or was interrupted."""
    require_ray()
    address, origin = cluster_address(address)
    check_address(address, origin)
    import ray

    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(address=address or "local", num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        raise ConfigError(f"ray executor: cannot connect to the Ray cluster at {address!r} (the {origin}): {exc}; "
                          f"start one with `ray start --head`, or {_unset(origin)} to start a local cluster"
                          ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _unset(origin: str) -> str:
    """How to start a local cluster instead of the one `origin` (the option, or RAY_ADDRESS) named."""
    return "leave address unset" if origin == "address" else f"unset {origin}"
