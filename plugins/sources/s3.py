"""S3 for the `duckdb` source by one of two routes: DuckDB's own httpfs extension where it is
installed, else s3fs registered with DuckDB through fsspec (httpfs cannot always be downloaded)."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

from engine.errors import DataError, OptionError

ROUTES = ("auto", "httpfs", "fsspec")
CREDENTIALS_HINT = (
    "check the credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a "
    "non-AWS endpoint), or pass storage_options={'key': ..., 'secret': ..., 'endpoint_url': ...}"
)
SECRET_NAME = "hookyard_s3"
# s3fs's storage_options that httpfs takes, the DuckDB S3 secret setting each becomes, and the
# environment variables (first set wins) that stand in when the option is not given.
SECRET_SETTINGS = {"key": "KEY_ID", "secret": "SECRET", "token": "SESSION_TOKEN", "region": "REGION"}
ENVIRONMENT = {
    "key": ("AWS_ACCESS_KEY_ID",),
    "secret": ("AWS_SECRET_ACCESS_KEY",),
    "token": ("AWS_SESSION_TOKEN",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
}


@attrs.frozen
class Access:
    """How a connection reads S3: the route taken and what lists paths for `locations.locate`."""

    route: str
    files: Any


def attach(connection: Any, wanted: str, storage_options: Mapping[str, Any] | None) -> Access:
    """Set `connection` up to read S3 by the route `wanted` ("auto", "httpfs" or "fsspec") comes to."""
    import duckdb

    route = choose_route(connection, wanted, fsspec_only(storage_options, os.environ))
    if route == "fsspec":
        filesystem = s3_filesystem(storage_options)
        connection.register_filesystem(filesystem)
        return Access(route, filesystem)
    settings = secret_settings(storage_options, os.environ)
    try:
        connection.execute("LOAD httpfs")
        statement = ", ".join(["TYPE s3", *(f"{name} ${name}" for name in settings)])
        connection.execute(f"CREATE OR REPLACE TEMPORARY SECRET {SECRET_NAME} ({statement})", settings)
    except duckdb.Error as exc:
        raise DataError(
            f"cannot set up DuckDB's httpfs extension for S3: {exc}; pass s3='fsspec' to read S3 through s3fs"
        ) from exc
    return Access(route, DuckDBFiles(connection))


def choose_route(connection: Any, wanted: str, fsspec_needs: list[str]) -> str:
    """httpfs when asked for or, with "auto", when installed in the connection's extension directory
    and nothing in `fsspec_needs` (settings only s3fs understands) asks for s3fs."""
    if wanted == "fsspec" or (wanted == "auto" and fsspec_needs):
        return "fsspec"
    row = connection.execute(
        "SELECT installed OR loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
    ).fetchone()
    if row is not None and row[0]:
        return "httpfs"
    if wanted == "auto":
        return "fsspec"
    import duckdb

    folder = connection.execute("SELECT current_setting('extension_directory')").fetchone()[0] or "~/.duckdb/extensions"
    version = duckdb.__version__
    raise OptionError(
        f"s3='httpfs' needs DuckDB's httpfs extension, which is not installed in the extension directory {folder!r}: "
        f"run INSTALL httpfs in DuckDB {version}, or pip install duckdb-extension-httpfs=={version} and INSTALL "
        "the httpfs.duckdb_extension file it holds (with the same extension_directory); "
        "or pass s3='fsspec' to read S3 through s3fs"
    )


def s3_filesystem(storage_options: Mapping[str, Any] | None) -> Any:
    """A fresh s3fs filesystem: credentials, region and endpoint from `storage_options`, else from
    the usual AWS_* environment variables (botocore reads them)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **dict(storage_options or {}))


def fsspec_only(storage_options: Mapping[str, Any] | None, environ: Mapping[str, str]) -> list[str]:
    """What in `storage_options` or the environment only s3fs understands: options httpfs has no
    setting for, and an AWS_PROFILE that would supply the credentials (httpfs reads no profiles)."""
    options, client = _split(storage_options)
    for name in ("key", "secret", "token", "endpoint_url"):
        options.pop(name, None)
    client.pop("region_name", None)
    client.pop("endpoint_url", None)
    needs = [f"storage_options {name!r}" for name in sorted(options)]
    needs += [f"storage_options client_kwargs[{name!r}]" for name in sorted(client)]
    if environ.get("AWS_PROFILE") and not _given(storage_options, environ)["key"]:
        needs.append(f"AWS_PROFILE={environ['AWS_PROFILE']!r}")
    return needs


def secret_settings(storage_options: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings of a DuckDB S3 secret from s3fs-style `storage_options`, else the AWS_* variables."""
    needs = fsspec_only(storage_options, environ)
    if needs:
        raise OptionError(
            f"{', '.join(needs)}: DuckDB's httpfs has no counterpart (it takes key, secret, token, endpoint_url "
            "and client_kwargs={'region_name': ...}, or the AWS_* keys); pass s3='fsspec' to read through s3fs"
        )
    values = _given(storage_options, environ)
    settings: dict[str, Any] = {SECRET_SETTINGS[name]: values[name] for name in SECRET_SETTINGS if values[name]}
    if values["endpoint_url"]:
        url = urllib.parse.urlsplit(values["endpoint_url"])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise OptionError(f"endpoint_url {values['endpoint_url']!r} is not a URL like 'https://host:port'")
        settings.update(ENDPOINT=url.netloc + url.path.rstrip("/"), URL_STYLE="path", USE_SSL=url.scheme == "https")
    return settings


def _split(storage_options: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    options = dict(storage_options or {})
    return options, dict(options.pop("client_kwargs", None) or {})


def _given(storage_options: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """Key, secret, token, region and endpoint from s3fs's option names, else the AWS_* variables."""
    options, client = _split(storage_options)
    given = {
        "key": options.get("key"),
        "secret": options.get("secret"),
        "token": options.get("token"),
        "region": client.get("region_name"),
        "endpoint_url": options.get("endpoint_url") or client.get("endpoint_url"),
    }
    return {
        name: value or next((environ[var] for var in ENVIRONMENT[name] if environ.get(var)), None)
        for name, value in given.items()
    }


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a DuckDB httpfs error (403: refused, 404: missing); None for other errors."""
    import duckdb

    return exc.status_code if isinstance(exc, duckdb.HTTPException) else None


class DuckDBFiles:
    """The listing calls `locations.locate` makes, answered by DuckDB's glob() and read_blob() over
    httpfs, so that the httpfs route needs no s3fs; a refusal (HTTP 403) is a PermissionError."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._listed: dict[str, list[str]] = {}

    def glob(self, pattern: str) -> list[str]:
        try:
            return [row[0] for row in self._rows("SELECT file FROM glob($pattern)", pattern=pattern)]
        except FileNotFoundError:
            return []

    def find(self, path: str) -> list[str]:
        """Every object below `path`, listed once: `locate` asks `isdir` and then `find` of a folder."""
        if path not in self._listed:
            self._listed[path] = self.glob(f"{path.rstrip('/')}/**")
        return self._listed[path]

    def isdir(self, path: str) -> bool:
        return bool(self.find(path))

    def exists(self, path: str) -> bool:
        try:
            self._rows("SELECT size FROM read_blob($path)", path=path)
        except FileNotFoundError:
            return False
        return True

    def _rows(self, query: str, **params: str) -> list[tuple[Any, ...]]:
        import duckdb

        try:
            return self._connection.cursor().execute(query, params).fetchall()
        except duckdb.HTTPException as exc:
            status, first_line = http_status(exc), str(exc).splitlines()[0]
            if status == 403:
                raise PermissionError(first_line) from exc
            if status == 404:
                raise FileNotFoundError(first_line) from exc
            raise
