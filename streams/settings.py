"""The one typed settings object, read from `CREDLINK_*` environment variables and `.env`.

No other module reads the environment: everything configurable is a field here, documented in
README's configuration table (a test keeps the two in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

_DAY_MS = 24 * 60 * 60 * 1000

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class Settings(BaseSettings):
    """Configuration of the worker, the connectors and the local development stack."""

    model_config = SettingsConfigDict(
        env_prefix="CREDLINK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # A validation error would otherwise quote the input, passwords and keys included.
        hide_input_in_errors=True,
    )

    # Kafka
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated `host:port` list of Kafka brokers."
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT",
        description="How every Kafka client connects: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` "
        "or `SASL_SSL`.",
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        "SCRAM-SHA-512",
        description="SASL mechanism of the `SASL_*` protocols: `SCRAM-SHA-512`, "
        "`SCRAM-SHA-256` or `PLAIN`.",
    )
    kafka_sasl_username: str | None = Field(
        None, description="SASL user name; required by the `SASL_*` protocols."
    )
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password; required by the `SASL_*` protocols."
    )
    kafka_ssl_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA certificates that sign the brokers' certificates; "
        "unset = the system's trust store.",
    )
    kafka_ssl_cert_file: Path | None = Field(
        None, description="PEM file of the client certificate (mutual TLS); needs the key file."
    )
    kafka_ssl_key_file: Path | None = Field(
        None, description="PEM file of the client certificate's private key (mutual TLS)."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        None, description="Password of an encrypted client key file."
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

    schema_registry_url: str | None = Field(
        None,
        description="Confluent schema registry URL; set = Confluent wire format, "
        "unset = Avro single-object encoding.",
    )

    # Fetching images
    fetch_allowed_buckets: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), description="Comma-separated S3 buckets `s3://` image URIs may name."
    )
    fetch_file_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        (), description="Comma-separated directories `file://` image URIs must lie under."
    )
    fetch_allowed_hosts: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), description="Comma-separated hosts `https://` image URIs may name."
    )
    fetch_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one image fetch.")
    fetch_attempts: int = Field(
        3, ge=1, le=10, description="Attempts at a failing fetch before it is dead-lettered."
    )
    max_image_bytes: int = Field(
        25 * 1024 * 1024, ge=1, description="Largest image accepted, in bytes."
    )
    max_image_pixels: int = Field(
        50_000_000,
        ge=1,
        description="Largest image accepted, in pixels (decompression-bomb guard).",
    )

    # Signing
    signing_key_file: Path | None = Field(
        None, description="PEM file of the Ed25519 signing key (mode 0600 or 0400)."
    )
    signing_key_pem: SecretStr | None = Field(
        None, description="The Ed25519 signing key as PEM text, instead of a file."
    )
    keyset_file: Path = Field(
        Path(".credlink/keys/keyset.json"),
        description="JSON Web Key Set of the public keys, for verifiers.",
    )

    # Proof storage
    proof_store: Literal["filesystem", "s3"] = Field(
        "filesystem", description="Where proofs are written: `filesystem` or `s3`."
    )
    proof_store_root: Path = Field(
        Path(".credlink/proofs"), description="Directory of the filesystem proof store."
    )
    proof_key_prefix: str = Field(
        "proofs/", description="Prefix of proof object keys: `{prefix}YYYY/MM/DD/{id}.json`."
    )
    s3_sse: Literal["AES256", "aws:kms"] = Field(
        "AES256", description="Server-side encryption of proof objects."
    )
    s3_kms_key_id: str | None = Field(
        None, description="KMS key id for `aws:kms` encryption; unset = the bucket's default."
    )
    proof_retention_days: int = Field(
        3650, ge=1, description="Days until a proof's `expires-at` metadata date."
    )
    proof_cache_entries: int = Field(
        1024, ge=0, description="Proof objects kept in the in-memory read cache."
    )

    # Worker
    prove_concurrency: int = Field(
        4, ge=1, le=64, description="Events each worker proves at once (fetch and store overlap)."
    )
    decode_memory_mb: int = Field(
        256,
        ge=16,
        le=65536,
        description="MiB of decoded pictures a worker (or the verify service) holds at once, "
        "estimated per format; further decodes wait, and one picture larger than this decodes "
        "alone.",
    )
    consumer_session_timeout_seconds: float = Field(
        30.0,
        ge=6,
        le=300,
        description="Seconds after which the group gives a silent worker's partitions to others.",
    )
    metrics_tenants: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(),
        description="Comma-separated tenants that get their own metric labels; "
        "the rest are summed under `other` (bounded cardinality).",
    )
    lag_interval_seconds: float = Field(
        10.0, gt=0, description="How often the worker measures its consumer lag."
    )
    sentry_dsn: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SENTRY_DSN", "CREDLINK_SENTRY_DSN"),
        description="Sentry DSN (`SENTRY_DSN` or `CREDLINK_SENTRY_DSN`); unset = no reporting.",
    )
    sentry_environment: str = Field(
        "production", description="Environment name attached to Sentry events."
    )
    transient_retry_max_seconds: float = Field(
        30.0, gt=0, description="Longest pause between retries of a transient store/broker error."
    )
    log_level: str = Field("info", description="Log level of the worker and the CLI.")
    worker_web_host: str = Field(
        "127.0.0.1", description="Address the worker's web server binds (`0.0.0.0` in a pod)."
    )
    worker_web_port: int = Field(
        6066, ge=0, le=65535, description="Port of the worker's web server (metrics, health)."
    )

    # Verify service (`credlink serve-verify`)
    verify_web_host: str = Field(
        "127.0.0.1", description="Address the verify service binds (`0.0.0.0` in a pod)."
    )
    verify_web_port: int = Field(
        8080, ge=0, le=65535, description="Port of the verify service (`credlink serve-verify`)."
    )
    verify_max_request_bytes: int = Field(
        26 * 1024 * 1024,
        ge=1,
        description="Largest request body the verify service reads (an image upload with its "
        "multipart framing); larger requests get 413.",
    )
    verify_api_keys_file: Path = Field(
        Path(".credlink/verify/api-keys.json"),
        description="API keys of the verify service: key id -> tenant and SHA-256 of the secret "
        "(`credlink keys api-key` adds one).",
    )
    verify_concurrency: int = Field(
        4, ge=1, le=64, description="Images the verify service hashes and looks up at once."
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

    @field_validator(
        "fetch_allowed_buckets", "fetch_allowed_hosts", "metrics_tenants", mode="before"
    )
    @classmethod
    def _comma_separated_set(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("fetch_file_roots", mode="before")
    @classmethod
    def _comma_separated_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(item.strip()) for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        prefix = "CREDLINK_KAFKA_"
        if protocol.startswith("SASL_"):
            if not self.kafka_sasl_username or self.kafka_sasl_password is None:
                raise ValueError(
                    f"{prefix}SECURITY_PROTOCOL={protocol} needs {prefix}SASL_USERNAME and "
                    f"{prefix}SASL_PASSWORD"
                )
        elif self.kafka_sasl_username is not None or self.kafka_sasl_password is not None:
            raise ValueError(
                f"{prefix}SASL_USERNAME/{prefix}SASL_PASSWORD are set but "
                f"{prefix}SECURITY_PROTOCOL={protocol} does not use SASL"
            )
        tls_files = (self.kafka_ssl_ca_file, self.kafka_ssl_cert_file, self.kafka_ssl_key_file)
        if not protocol.endswith("SSL") and (
            any(path is not None for path in tls_files) or self.kafka_ssl_key_password is not None
        ):
            raise ValueError(
                f"{prefix}SSL_* files are set but {prefix}SECURITY_PROTOCOL={protocol} "
                "does not use TLS (use SSL or SASL_SSL)"
            )
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError(
                f"{prefix}SSL_CERT_FILE and {prefix}SSL_KEY_FILE go together: "
                "a client certificate needs its key"
            )
        if self.kafka_ssl_key_password is not None and self.kafka_ssl_key_file is None:
            raise ValueError(f"{prefix}SSL_KEY_PASSWORD is set without {prefix}SSL_KEY_FILE")
        return self

    def topic(self, name: str) -> str:
        """The full name of pipeline topic `name` (e.g. `images.submitted`)."""
        return f"{self.topic_prefix}{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
