"""The one typed settings object, read from `CREDLINK_*` environment variables and `.env`.

No other module reads the environment: everything configurable is a field here, documented in
README's configuration table (a test keeps the two in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

_DAY_MS = 24 * 60 * 60 * 1000


class Settings(BaseSettings):
    """Configuration of the worker, the connectors and the local development stack."""

    model_config = SettingsConfigDict(
        env_prefix="CREDLINK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # Kafka
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated `host:port` list of Kafka brokers."
    )
    app_id: str = Field(
        "credlink", description="Faust application id: consumer group and changelog topic prefix."
    )
    topic_prefix: str = Field(
        "", description="Prefix put in front of every pipeline topic name, e.g. `prod.`."
    )
    topic_partitions: int = Field(
        6, ge=1, description="Partitions of each pipeline topic created by the bootstrap."
    )
    topic_replication_factor: int = Field(
        1, ge=1, description="Replication factor of each pipeline topic (3 in production)."
    )
    submitted_retention_ms: int = Field(
        7 * _DAY_MS, description="Retention of `images.submitted`: the replay window."
    )
    proofs_retention_ms: int = Field(
        -1, description="Retention of `proofs.created`; -1 keeps proof events forever."
    )
    dlq_retention_ms: int = Field(30 * _DAY_MS, description="Retention of `images.dlq`.")

    # Proof storage
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint override (the local moto server, MinIO, ...); unset = AWS."
    )
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_bucket: str = Field("credlink-proofs", description="Bucket holding proof objects.")
    s3_access_key_id: SecretStr | None = Field(
        None, description="S3 access key id; unset = boto3's default credential chain."
    )
    s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret access key; unset = boto3's default credential chain."
    )

    # Worker
    log_level: str = Field("info", description="Log level of the worker and the CLI.")
    worker_web_port: int = Field(
        6066, ge=0, le=65535, description="Port of the worker's web server (metrics, health)."
    )

    # Local development stack (`credlink dev ...`)
    dev_home: Path = Field(
        Path(".credlink"), description="State of the local stack: data dirs, PID files, logs."
    )
    dev_kafka_port: int = Field(9092, ge=1, le=65535, description="Local broker client port.")
    dev_controller_port: int = Field(
        9093, ge=1, le=65535, description="Local broker KRaft controller port."
    )
    dev_s3_port: int = Field(9000, ge=1, le=65535, description="Local S3 (moto) endpoint port.")
    kafka_cache_dir: Path = Field(
        Path.home() / ".cache" / "credlink" / "kafka",
        description="Where the Apache Kafka jars fetched from Maven Central are cached.",
    )

    def topic(self, name: str) -> str:
        """The full name of pipeline topic `name` (e.g. `images.submitted`)."""
        return f"{self.topic_prefix}{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
