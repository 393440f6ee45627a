"""Fixtures for the core tests: real (if tiny) plugin distributions written to disk, and a real local
S3 endpoint with DuckDB's httpfs for the tests that read S3 (the sources' and the Ray executor's)."""

from __future__ import annotations

import importlib
import importlib.resources
import io
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow.parquet as pq
import pytest

from engine import registry as registry_module

os.environ["HOOKYARD_MLFLOW"] = "off"  # hookyard-mlflow logs every run once installed; its tests turn it on


def write_distribution(
    root: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
    version: str = "1.0",
) -> Path:
    """Lay out an installed distribution under `root` exactly as pip would: modules plus a
    .dist-info folder with METADATA and entry_points.txt. Returns `root` (put it on sys.path)."""
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        path = root / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[hookyard]\n{lines}\n")
    return root


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install tiny distributions into a folder on sys.path for this test; the process-wide
    registry is reset so they are discovered, and reset again afterwards."""
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))
    registry_module.reset()

    def install(name: str, modules: Mapping[str, str], entry_points: Mapping[str, str], version: str = "1.0") -> Path:
        write_distribution(root, name, modules, entry_points, version)
        importlib.invalidate_caches()
        registry_module.reset()
        return root

    yield install
    registry_module.reset()
    for module in [m for m in sys.modules if m.startswith("acme")]:
        del sys.modules[module]


@pytest.fixture
def hookyard_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `hookyard` command as a user would, in a subprocess."""

    def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "engine", *args],
            capture_output=True, text=True, env=full_env, cwd=cwd or tmp_path, timeout=300,
        )

    return run


@attrs.frozen
class Endpoint:
    """Where the S3 endpoint answers, and the reader's keys."""

    url: str
    key: str
    secret: str

    def options(self, **changes: Any) -> dict[str, Any]:
        return {"key": self.key, "secret": self.secret, "endpoint_url": self.url, **changes}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parquet_bytes(table: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def s3() -> Iterator[Endpoint]:
    """A real local S3 endpoint (moto's server on 127.0.0.1, one per test process: moto's state is the
    process's) with a bucket `lake` holding sales/part-{0,1,2}.parquet and
    hive/year={2022,2023}/data.parquet, readable by one IAM user; signatures are checked once the data
    is in place."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from tests.sources.conftest import sales

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    setup = {"endpoint_url": url, "aws_access_key_id": "setup", "aws_secret_access_key": "setup",
             "region_name": "us-east-1"}
    try:
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="reader")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="reader", PolicyName="lake", PolicyDocument=json.dumps(policy))
        access = iam.create_access_key(UserName="reader")["AccessKey"]
        bucket = boto3.client("s3", **setup)
        bucket.create_bucket(Bucket="lake")
        for k in range(3):
            bucket.put_object(Bucket="lake", Key=f"sales/part-{k}.parquet", Body=parquet_bytes(sales(20, 20 * k)))
        for year, offset in ((2022, 0), (2023, 30)):
            bucket.put_object(Bucket="lake", Key=f"hive/year={year}/data.parquet", Body=parquet_bytes(sales(30, offset)))
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield Endpoint(url, access["AccessKeyId"], access["SecretAccessKey"])
    finally:
        requests.post(f"{url}/moto-api/reset-auth", data=b"inf", timeout=10)
        server.stop()


@pytest.fixture(scope="session")
def httpfs_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An extension directory holding DuckDB's httpfs, installed from the duckdb-extension-httpfs
    wheel's file (built for this DuckDB version), so that no test downloads it or touches ~/.duckdb."""
    import duckdb

    try:
        package = importlib.resources.files("duckdb_extension_httpfs")
    except ModuleNotFoundError:
        pytest.fail("the S3 tests need duckdb-extension-httpfs: pip install -c constraints.txt -e '.[sources,dev]'")
    built = package / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not built.is_file():
        pytest.fail(f"duckdb-extension-httpfs holds no httpfs for DuckDB {duckdb.__version__}; "
                    "install the versions constraints.txt pins")
    folder = tmp_path_factory.mktemp("extensions")
    with duckdb.connect(config={"extension_directory": str(folder)}) as con:
        con.execute("INSTALL '{}'".format(str(built).replace("'", "''")))
    return folder
