"""The `duckdb` source over S3: a real local endpoint (moto's server on 127.0.0.1) that checks
signatures against its IAM users, real Parquet objects put with boto3, read back through s3fs."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
from collections.abc import Iterator

import attrs
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import engine
from tests.sources.conftest import sales


@attrs.frozen
class Endpoint:
    url: str
    key: str
    secret: str

    def options(self, **changes: str) -> dict[str, str]:
        return {"key": self.key, "secret": self.secret, "endpoint_url": self.url, **changes}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parquet_bytes(table: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def s3() -> Iterator[Endpoint]:
    """A bucket `lake` with sales/part-{0,1,2}.parquet and hive/year={2022,2023}/data.parquet,
    readable by one IAM user; signatures are checked once the data is in place."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

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


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def test_glob_with_credentials_from_the_environment(s3: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    source = engine.source("duckdb", path="s3://lake/sales/part-*.parquet", columns=["id", "region"],
                           filters=[("id", ">=", 25)])
    table = source.to_arrow()
    assert sorted(table.column("id").to_pylist()) == list(range(25, 60))
    assert "id>=25" in source.explain().replace(" ", "")
    assert source.count() == 35


def test_hive_folder_with_explicit_options(s3: Endpoint) -> None:
    source = engine.source("duckdb", path="s3://lake/hive", filters=[("year", "==", 2023)],
                           storage_options=s3.options())
    table = source.to_arrow()
    assert table.column("id").to_pylist() == list(range(30, 60))
    assert "Scanning Files: 1/2" in source.explain()
    expected = sales(30, 30).filter(pc.field("amount") > 60)
    assert source.to_pandas().query("amount > 60")["id"].tolist() == expected.column("id").to_pylist()


def test_sql_over_s3(s3: Endpoint) -> None:
    source = engine.source("duckdb", sql="SELECT count(*) AS n FROM read_parquet('s3://lake/sales/*.parquet')",
                           storage_options=s3.options())
    assert source.to_arrow().to_pylist() == [{"n": 60}]


@pytest.mark.parametrize("wrong", [{"secret": "not-the-secret"}, {"key": "AKIANOSUCHKEY0000000"}])
def test_wrong_credentials_are_a_clear_error(s3: Endpoint, wrong: dict[str, str]) -> None:
    source = engine.source("duckdb", path="s3://lake/sales/part-*.parquet", storage_options=s3.options(**wrong))
    with pytest.raises(engine.DataError, match="S3 refused access to 's3://lake/sales/part-\\*.parquet'.*AWS_ACCESS_KEY_ID"):
        source.to_arrow()


def test_a_missing_object_is_a_clear_error(s3: Endpoint) -> None:
    with pytest.raises(engine.DataError, match="no such file: 's3://lake/sales/part-9.parquet'"):
        engine.source("duckdb", path="s3://lake/sales/part-9.parquet", storage_options=s3.options()).count()


def test_sql_with_wrong_credentials_is_a_clear_error(s3: Endpoint) -> None:
    source = engine.source("duckdb", sql="SELECT count(*) FROM read_parquet('s3://lake/sales/*.parquet')",
                           storage_options=s3.options(secret="wrong"))
    with pytest.raises(engine.DataError, match="S3 refused access"):
        source.to_arrow()
