"""The `duckdb` source over S3: a real local endpoint (moto's server on 127.0.0.1, the `s3` fixture of
tests/conftest.py) that checks signatures against its IAM users, real Parquet objects put with boto3,
read back by each route: DuckDB's httpfs extension (installed from the duckdb-extension-httpfs wheel
into a temporary extension directory) and s3fs registered through fsspec."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

import engine
from plugins.sources.s3 import fsspec_only, secret_settings
from tests.conftest import Endpoint
from tests.sources.conftest import sales


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(params=["httpfs", "fsspec"])
def route(request: pytest.FixtureRequest, httpfs_directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The options that pick one S3 route, with httpfs installed either way; on the httpfs route
    s3fs cannot be imported, which shows that route needs none of it."""
    if request.param == "httpfs":
        monkeypatch.setitem(sys.modules, "s3fs", None)
    return {"s3": request.param, "extension_directory": str(httpfs_directory)}


def assert_read_through(source: Any, route: str) -> None:
    """`source` read S3 by `route`: httpfs loaded and no fsspec filesystem registered, or s3fs registered."""
    con = source._connection
    assert source.s3_route == route and f"S3 route: {route}\n" in source.explain()
    loaded = con.sql("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchone()[0]
    registered = "s3" in con.list_filesystems()
    assert (loaded and not registered) if route == "httpfs" else registered


def test_glob_with_credentials_from_the_environment(
    s3: Endpoint, route: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    source = engine.source("duckdb", path="s3://lake/sales/part-*.parquet", columns=["id", "region"],
                           filters=[("id", ">=", 25)], **route)
    table = source.to_arrow()
    assert sorted(table.column("id").to_pylist()) == list(range(25, 60))
    assert "id>=25" in source.explain().replace(" ", "")
    assert source.count() == 35
    assert_read_through(source, route["s3"])


def test_explicit_options_win_over_the_environment(
    s3: Endpoint, route: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    source = engine.source("duckdb", path="s3://lake/sales/part-1.parquet", storage_options=s3.options(), **route)
    assert source.to_arrow().column("id").to_pylist() == list(range(20, 40))


def test_hive_folder_with_explicit_options(s3: Endpoint, route: dict[str, str]) -> None:
    source = engine.source("duckdb", path="s3://lake/hive", filters=[("year", "==", 2023)],
                           storage_options=s3.options(), **route)
    table = source.to_arrow()
    assert table.column("id").to_pylist() == list(range(30, 60))
    assert "Scanning Files: 1/2" in source.explain()
    expected = sales(30, 30).filter(pc.field("amount") > 60)
    assert source.to_pandas().query("amount > 60")["id"].tolist() == expected.column("id").to_pylist()
    assert_read_through(source, route["s3"])


@pytest.mark.parametrize("scheme", ["s3", "s3a"])
def test_sql_over_s3(s3: Endpoint, route: dict[str, str], scheme: str) -> None:
    source = engine.source("duckdb", sql=f"SELECT count(*) AS n FROM read_parquet('{scheme}://lake/sales/*.parquet')",
                           storage_options=s3.options(client_kwargs={"region_name": "eu-west-1"}), **route)
    assert source.to_arrow().to_pylist() == [{"n": 60}]
    assert_read_through(source, route["s3"])


@pytest.mark.parametrize("wrong", [{"secret": "not-the-secret"}, {"key": "AKIANOSUCHKEY0000000"}])
def test_wrong_credentials_are_a_clear_error(s3: Endpoint, route: dict[str, str], wrong: dict[str, str]) -> None:
    source = engine.source("duckdb", path="s3://lake/sales/part-*.parquet", storage_options=s3.options(**wrong),
                           **route)
    with pytest.raises(engine.DataError, match="S3 refused access to 's3://lake/sales/part-\\*.parquet'.*AWS_ACCESS_KEY_ID"):
        source.to_arrow()


def test_a_missing_object_is_a_clear_error(s3: Endpoint, route: dict[str, str]) -> None:
    with pytest.raises(engine.DataError, match="no such file: 's3://lake/sales/part-9.parquet'"):
        engine.source("duckdb", path="s3://lake/sales/part-9.parquet", storage_options=s3.options(), **route).count()


def test_sql_with_wrong_credentials_is_a_clear_error(s3: Endpoint, route: dict[str, str]) -> None:
    source = engine.source("duckdb", sql="SELECT count(*) FROM read_parquet('s3://lake/sales/*.parquet')",
                           storage_options=s3.options(secret="wrong"), **route)
    with pytest.raises(engine.DataError, match="S3 refused access.*AWS_ACCESS_KEY_ID"):
        source.to_arrow()


def test_sql_over_a_missing_object_is_a_clear_error(s3: Endpoint, route: dict[str, str]) -> None:
    source = engine.source("duckdb", sql="SELECT count(*) FROM read_parquet('s3://lake/sales/part-9.parquet')",
                           storage_options=s3.options(), **route)
    with pytest.raises(engine.DataError, match="(?i)no (such object|files found).*s3://lake/sales/part-9.parquet"):
        source.to_arrow()


@pytest.mark.parametrize("installed, expected", [(True, "httpfs"), (False, "fsspec")])
def test_auto_takes_httpfs_where_installed_else_fsspec(
    s3: Endpoint, httpfs_directory: Path, tmp_path: Path, installed: bool, expected: str
) -> None:
    folder = httpfs_directory if installed else tmp_path
    source = engine.source("duckdb", path="s3://lake/sales/part-0.parquet", storage_options=s3.options(),
                           extension_directory=str(folder))
    assert source.to_arrow().column("id").to_pylist() == list(range(20))
    assert_read_through(source, expected)


def test_httpfs_asked_for_but_not_installed_is_a_clear_error(tmp_path: Path) -> None:
    source = engine.source("duckdb", path="s3://lake/sales/part-0.parquet", s3="httpfs",
                           extension_directory=str(tmp_path))
    with pytest.raises(engine.OptionError, match=f"httpfs.*not installed.*{tmp_path}.*INSTALL httpfs.*s3='fsspec'"):
        source.to_arrow()
    assert list(tmp_path.iterdir()) == []


def test_options_httpfs_cannot_take_are_a_clear_error(s3: Endpoint, httpfs_directory: Path) -> None:
    source = engine.source("duckdb", path="s3://lake/sales/part-0.parquet", s3="httpfs",
                           extension_directory=str(httpfs_directory),
                           storage_options=s3.options(profile="lake", client_kwargs={"verify": False}))
    with pytest.raises(engine.OptionError, match="'profile', storage_options client_kwargs\\['verify'\\].*s3='fsspec'"):
        source.to_arrow()


def test_auto_takes_fsspec_for_options_only_s3fs_understands(s3: Endpoint, httpfs_directory: Path) -> None:
    source = engine.source("duckdb", path="s3://lake/sales/part-0.parquet", extension_directory=str(httpfs_directory),
                           storage_options=s3.options(default_block_size=5 * 2**20))
    assert source.to_arrow().num_rows == 20
    assert_read_through(source, "fsspec")


def test_an_aws_profile_without_keys_is_left_to_s3fs() -> None:
    assert fsspec_only(None, {"AWS_PROFILE": "lake"}) == ["AWS_PROFILE='lake'"]
    assert fsspec_only(None, {"AWS_PROFILE": "lake", "AWS_ACCESS_KEY_ID": "k"}) == []
    assert fsspec_only({"key": "k", "client_kwargs": {"region_name": "eu-west-1"}}, {"AWS_PROFILE": "lake"}) == []


def test_secret_settings_map_s3fs_names_and_the_environment() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_REGION": "eu-west-1",
               "AWS_DEFAULT_REGION": "us-east-2", "AWS_ENDPOINT_URL": "http://elsewhere:1",
               "AWS_ENDPOINT_URL_S3": "https://minio.example:9000/"}
    assert secret_settings({"key": "k", "token": "t"}, environ) == {
        "KEY_ID": "k", "SECRET": "env-secret", "SESSION_TOKEN": "t", "REGION": "eu-west-1",
        "ENDPOINT": "minio.example:9000", "URL_STYLE": "path", "USE_SSL": True,
    }
    options = {"endpoint_url": "http://127.0.0.1:9000", "client_kwargs": {"region_name": "ap-south-1"}}
    assert secret_settings(options, {}) == {"REGION": "ap-south-1", "ENDPOINT": "127.0.0.1:9000", "URL_STYLE": "path",
                                            "USE_SSL": False}
    with pytest.raises(engine.OptionError, match="endpoint_url '127.0.0.1:9000' is not a URL"):
        secret_settings({"endpoint_url": "127.0.0.1:9000"}, {})
