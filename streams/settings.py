"""The one typed settings object, read from `CREDLINK_*` environment variables and `.env`.

No other module reads the environment: everything configurable is a field of one of the groups
here (`settings.kafka`, `settings.s3`, ...), named after its variable and documented in README's
configuration table (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "ContentCredentialSettings",
    "DevSettings",
    "FetchSettings",
    "KafkaSettings",
    "MonitoringSettings",
    "ProofStoreSettings",
    "S3Settings",
    "Settings",
    "SigningSettings",
    "Variable",
    "VerifySettings",
    "WorkerSettings",
    "get_settings",
]

_DAY_MS = 24 * 60 * 60 * 1000

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

_GROUP_CONFIG = ConfigDict(
    frozen=True,
    # A misspelt field in `Settings(kafka={...})` or `settings.updated(...)` fails loudly.
    extra="forbid",
    # Fields are set by name in code and by their variable (the validation alias) from outside.
    validate_by_name=True,
    validate_by_alias=True,
    # A validation error would otherwise quote the input, passwords and keys included.
    hide_input_in_errors=True,
)


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class KafkaSettings(BaseModel):
    """How every Kafka client connects, the Faust application and the pipeline topics."""

    model_config = _GROUP_CONFIG

    bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias="CREDLINK_KAFKA_BOOTSTRAP_SERVERS",
        description="Comma-separated `host:port` list of Kafka brokers.",
    )
    security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT",
        validation_alias="CREDLINK_KAFKA_SECURITY_PROTOCOL",
        description="How every Kafka client connects: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` "
        "or `SASL_SSL`.",
    )
    sasl_mechanism: KafkaSaslMechanism = Field(
        "SCRAM-SHA-512",
        validation_alias="CREDLINK_KAFKA_SASL_MECHANISM",
        description="SASL mechanism of the `SASL_*` protocols: `SCRAM-SHA-512`, "
        "`SCRAM-SHA-256` or `PLAIN`.",
    )
    sasl_username: str | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SASL_USERNAME",
        description="SASL user name; required by the `SASL_*` protocols.",
    )
    sasl_password: SecretStr | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SASL_PASSWORD",
        description="SASL password; required by the `SASL_*` protocols.",
    )
    ssl_ca_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SSL_CA_FILE",
        description="PEM file of the CA certificates that sign the brokers' certificates; "
        "unset = the system's trust store.",
    )
    ssl_cert_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SSL_CERT_FILE",
        description="PEM file of the client certificate (mutual TLS); needs the key file.",
    )
    ssl_key_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SSL_KEY_FILE",
        description="PEM file of the client certificate's private key (mutual TLS).",
    )
    ssl_key_password: SecretStr | None = Field(
        None,
        validation_alias="CREDLINK_KAFKA_SSL_KEY_PASSWORD",
        description="Password of an encrypted client key file.",
    )
    app_id: str = Field(
        "credlink",
        validation_alias="CREDLINK_APP_ID",
        description="Faust application id: consumer group and changelog topic prefix.",
    )
    topic_prefix: str = Field(
        "",
        validation_alias="CREDLINK_TOPIC_PREFIX",
        description="Prefix put in front of every pipeline topic name, e.g. `prod.`.",
    )
    topic_partitions: int = Field(
        6,
        ge=1,
        validation_alias="CREDLINK_TOPIC_PARTITIONS",
        description="Partitions of each pipeline topic created by the bootstrap.",
    )
    topic_replication_factor: int = Field(
        1,
        ge=1,
        validation_alias="CREDLINK_TOPIC_REPLICATION_FACTOR",
        description="Replication factor of each pipeline topic (3 in production).",
    )
    submitted_retention_ms: int = Field(
        7 * _DAY_MS,
        validation_alias="CREDLINK_SUBMITTED_RETENTION_MS",
        description="Retention of `images.submitted`: the replay window.",
    )
    proofs_retention_ms: int = Field(
        -1,
        validation_alias="CREDLINK_PROOFS_RETENTION_MS",
        description="Retention of `proofs.created`; -1 keeps proof events forever.",
    )
    dlq_retention_ms: int = Field(
        30 * _DAY_MS,
        validation_alias="CREDLINK_DLQ_RETENTION_MS",
        description="Retention of `images.dlq`.",
    )
    schema_registry_url: str | None = Field(
        None,
        validation_alias="CREDLINK_SCHEMA_REGISTRY_URL",
        description="Confluent schema registry URL; set = Confluent wire format, "
        "unset = Avro single-object encoding.",
    )
    schema_registry_timeout_seconds: float = Field(
        5.0,
        gt=0,
        validation_alias="CREDLINK_SCHEMA_REGISTRY_TIMEOUT_SECONDS",
        description="How long one request to the schema registry may take (connecting, then "
        "each read) before it fails and is retried like any outage.",
    )
    connect_timeout_seconds: float = Field(
        5.0,
        gt=0,
        validation_alias="CREDLINK_KAFKA_CONNECT_TIMEOUT_SECONDS",
        description="How long a command waits for the Kafka cluster to answer before it gives "
        "up with exit status 69.",
    )

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        protocol = self.security_protocol
        prefix = "CREDLINK_KAFKA_"
        if protocol.startswith("SASL_"):
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError(
                    f"{prefix}SECURITY_PROTOCOL={protocol} needs {prefix}SASL_USERNAME and "
                    f"{prefix}SASL_PASSWORD"
                )
        elif self.sasl_username is not None or self.sasl_password is not None:
            raise ValueError(
                f"{prefix}SASL_USERNAME/{prefix}SASL_PASSWORD are set but "
                f"{prefix}SECURITY_PROTOCOL={protocol} does not use SASL"
            )
        tls_files = (self.ssl_ca_file, self.ssl_cert_file, self.ssl_key_file)
        if not protocol.endswith("SSL") and (
            any(path is not None for path in tls_files) or self.ssl_key_password is not None
        ):
            raise ValueError(
                f"{prefix}SSL_* files are set but {prefix}SECURITY_PROTOCOL={protocol} "
                "does not use TLS (use SSL or SASL_SSL)"
            )
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError(
                f"{prefix}SSL_CERT_FILE and {prefix}SSL_KEY_FILE go together: "
                "a client certificate needs its key"
            )
        if self.ssl_key_password is not None and self.ssl_key_file is None:
            raise ValueError(f"{prefix}SSL_KEY_PASSWORD is set without {prefix}SSL_KEY_FILE")
        return self

    def topic(self, name: str) -> str:
        """The full name of pipeline topic `name` (e.g. `images.submitted`)."""
        return f"{self.topic_prefix}{name}"


class S3Settings(BaseModel):
    """The S3 endpoint (proof store and `s3://` images) and how proof objects are written."""

    model_config = _GROUP_CONFIG

    endpoint_url: str | None = Field(
        None,
        validation_alias="CREDLINK_S3_ENDPOINT_URL",
        description="S3 endpoint override (the local moto server, MinIO, ...); unset = AWS.",
    )
    region: str = Field(
        "us-east-1", validation_alias="CREDLINK_S3_REGION", description="S3 region."
    )
    bucket: str = Field(
        "credlink-proofs",
        validation_alias="CREDLINK_S3_BUCKET",
        description="Bucket holding proof objects.",
    )
    access_key_id: SecretStr | None = Field(
        None,
        validation_alias="CREDLINK_S3_ACCESS_KEY_ID",
        description="S3 access key id; unset = boto3's default credential chain.",
    )
    secret_access_key: SecretStr | None = Field(
        None,
        validation_alias="CREDLINK_S3_SECRET_ACCESS_KEY",
        description="S3 secret access key; unset = boto3's default credential chain.",
    )
    sse: Literal["AES256", "aws:kms"] = Field(
        "AES256",
        validation_alias="CREDLINK_S3_SSE",
        description="Server-side encryption of proof objects.",
    )
    kms_key_id: str | None = Field(
        None,
        validation_alias="CREDLINK_S3_KMS_KEY_ID",
        description="KMS key id for `aws:kms` encryption; unset = the bucket's default.",
    )
    object_lock_days: int | None = Field(
        None,
        ge=1,
        validation_alias="CREDLINK_S3_OBJECT_LOCK_DAYS",
        description="Days each new proof object stays under an S3 Object Lock in compliance "
        "mode (the bucket must have Object Lock enabled); unset = no lock.",
    )


class FetchSettings(BaseModel):
    """Where images may be fetched from, and how large they may be."""

    model_config = _GROUP_CONFIG

    allowed_buckets: frozenset[str] = Field(
        frozenset(),
        validation_alias="CREDLINK_FETCH_ALLOWED_BUCKETS",
        description="Comma-separated S3 buckets `s3://` image URIs may name.",
    )
    file_roots: tuple[Path, ...] = Field(
        (),
        validation_alias="CREDLINK_FETCH_FILE_ROOTS",
        description="Comma-separated directories `file://` image URIs must lie under.",
    )
    allowed_hosts: frozenset[str] = Field(
        frozenset(),
        validation_alias="CREDLINK_FETCH_ALLOWED_HOSTS",
        description="Comma-separated hosts `https://` image URIs may name.",
    )
    timeout_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="CREDLINK_FETCH_TIMEOUT_SECONDS",
        description="Timeout of one image fetch.",
    )
    attempts: int = Field(
        3,
        ge=1,
        le=10,
        validation_alias="CREDLINK_FETCH_ATTEMPTS",
        description="Attempts at a failing fetch before it is dead-lettered.",
    )
    max_image_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1,
        validation_alias="CREDLINK_MAX_IMAGE_BYTES",
        description="Largest image accepted, in bytes.",
    )
    max_image_pixels: int = Field(
        50_000_000,
        ge=1,
        validation_alias="CREDLINK_MAX_IMAGE_PIXELS",
        description="Largest image accepted, in pixels (decompression-bomb guard).",
    )

    @field_validator("allowed_buckets", "file_roots", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated_lists(cls, value: object) -> object:
        return _comma_separated(value)


class SigningSettings(BaseModel):
    """The key proofs are signed with, and the key set verifiers check them against."""

    model_config = _GROUP_CONFIG

    key_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_SIGNING_KEY_FILE",
        description="PEM file of the Ed25519 signing key (mode 0600 or 0400).",
    )
    key_pem: SecretStr | None = Field(
        None,
        validation_alias="CREDLINK_SIGNING_KEY_PEM",
        description="The Ed25519 signing key as PEM text, instead of a file.",
    )
    keyset_file: Path = Field(
        Path(".credlink/keys/keyset.json"),
        validation_alias="CREDLINK_KEYSET_FILE",
        description="JSON Web Key Set of the public keys, for verifiers.",
    )


class ContentCredentialSettings(BaseModel):
    """C2PA Content Credentials: whether they are issued, with which certificates, and the trust
    anchors a verifier accepts."""

    model_config = _GROUP_CONFIG

    enabled: bool = Field(
        False,
        validation_alias="CREDLINK_C2PA_ENABLED",
        description="Issue a C2PA manifest for every proof.",
    )
    embed: bool = Field(
        False,
        validation_alias="CREDLINK_C2PA_EMBED",
        description="Also store the image with its manifest embedded, for publishers who serve it.",
    )
    certificate_chain_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE",
        description="PEM certificate chain of the signing key, leaf first "
        "(`credlink keys certificate` makes a development one); required when C2PA is enabled.",
    )
    trust_anchors_file: Path | None = Field(
        None,
        validation_alias="CREDLINK_C2PA_TRUST_ANCHORS_FILE",
        description="PEM file of the CA certificates a manifest's signer is trusted under, for "
        "verifiers; unset = a valid manifest is reported `Valid`, never `Trusted`.",
    )


class ProofStoreSettings(BaseModel):
    """Where proofs are written and read, and the keys and metadata they get."""

    model_config = _GROUP_CONFIG

    backend: Literal["filesystem", "s3"] = Field(
        "filesystem",
        validation_alias="CREDLINK_PROOF_STORE",
        description="Where proofs are written: `filesystem` or `s3`.",
    )
    root: Path = Field(
        Path(".credlink/proofs"),
        validation_alias="CREDLINK_PROOF_STORE_ROOT",
        description="Directory of the filesystem proof store.",
    )
    key_prefix: str = Field(
        "proofs/",
        validation_alias="CREDLINK_PROOF_KEY_PREFIX",
        description="Prefix of proof object keys: `{prefix}YYYY/MM/DD/{id}.json`.",
    )
    retention_days: int = Field(
        3650,
        ge=1,
        validation_alias="CREDLINK_PROOF_RETENTION_DAYS",
        description="Days until a proof's `expires-at` metadata date.",
    )
    cache_entries: int = Field(
        1024,
        ge=0,
        validation_alias="CREDLINK_PROOF_CACHE_ENTRIES",
        description="Proof objects kept in the in-memory read cache.",
    )


class WorkerSettings(BaseModel):
    """How a worker shares out its work, retries and serves its web endpoints."""

    model_config = _GROUP_CONFIG

    prove_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        validation_alias="CREDLINK_PROVE_CONCURRENCY",
        description="Events each worker proves at once (fetch and store overlap).",
    )
    decode_memory_mb: int = Field(
        256,
        ge=16,
        le=65536,
        validation_alias="CREDLINK_DECODE_MEMORY_MB",
        description="MiB of decoded pictures a worker (or the verify service) holds at once, "
        "estimated per format; further decodes wait, and one picture larger than this decodes "
        "alone.",
    )
    consumer_session_timeout_seconds: float = Field(
        30.0,
        ge=6,
        le=300,
        validation_alias="CREDLINK_CONSUMER_SESSION_TIMEOUT_SECONDS",
        description="Seconds after which the group gives a silent worker's partitions to others.",
    )
    transient_retry_max_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias="CREDLINK_TRANSIENT_RETRY_MAX_SECONDS",
        description="Longest pause between retries of a transient store/broker error.",
    )
    web_host: str = Field(
        "127.0.0.1",
        validation_alias="CREDLINK_WORKER_WEB_HOST",
        description="Address the worker's web server binds (`0.0.0.0` in a pod).",
    )
    web_port: int = Field(
        6066,
        ge=0,
        le=65535,
        validation_alias="CREDLINK_WORKER_WEB_PORT",
        description="Port of the worker's web server (metrics, health).",
    )


class MonitoringSettings(BaseModel):
    """Metrics, lag measurement, error reporting and logging."""

    model_config = _GROUP_CONFIG

    metrics_tenants: frozenset[str] = Field(
        frozenset(),
        validation_alias="CREDLINK_METRICS_TENANTS",
        description="Comma-separated tenants that get their own metric labels; "
        "the rest are summed under `other` (bounded cardinality).",
    )
    lag_interval_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="CREDLINK_LAG_INTERVAL_SECONDS",
        description="How often the worker measures its consumer lag.",
    )
    sentry_dsn: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SENTRY_DSN", "CREDLINK_SENTRY_DSN"),
        description="Sentry DSN (`SENTRY_DSN` or `CREDLINK_SENTRY_DSN`); unset = no reporting.",
    )
    sentry_environment: str = Field(
        "production",
        validation_alias="CREDLINK_SENTRY_ENVIRONMENT",
        description="Environment name attached to Sentry events.",
    )
    log_level: str = Field(
        "info",
        validation_alias="CREDLINK_LOG_LEVEL",
        description="Log level of the worker and the CLI.",
    )

    @field_validator("metrics_tenants", mode="before")
    @classmethod
    def _comma_separated_tenants(cls, value: object) -> object:
        return _comma_separated(value)


class VerifySettings(BaseModel):
    """The verify service (`credlink serve-verify`)."""

    model_config = _GROUP_CONFIG

    web_host: str = Field(
        "127.0.0.1",
        validation_alias="CREDLINK_VERIFY_WEB_HOST",
        description="Address the verify service binds (`0.0.0.0` in a pod).",
    )
    web_port: int = Field(
        8080,
        ge=0,
        le=65535,
        validation_alias="CREDLINK_VERIFY_WEB_PORT",
        description="Port of the verify service (`credlink serve-verify`).",
    )
    max_request_bytes: int = Field(
        26 * 1024 * 1024,
        ge=1,
        validation_alias="CREDLINK_VERIFY_MAX_REQUEST_BYTES",
        description="Largest request body the verify service reads (an image upload with its "
        "multipart framing); larger requests get 413.",
    )
    api_keys_file: Path = Field(
        Path(".credlink/verify/api-keys.json"),
        validation_alias="CREDLINK_VERIFY_API_KEYS_FILE",
        description="API keys of the verify service: key id -> tenant and SHA-256 of the secret "
        "(`credlink keys api-key` adds one).",
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=64,
        validation_alias="CREDLINK_VERIFY_CONCURRENCY",
        description="Images the verify service hashes and looks up at once.",
    )
    max_in_flight: int | None = Field(
        None,
        ge=1,
        le=1024,
        validation_alias="CREDLINK_VERIFY_MAX_IN_FLIGHT",
        description="Requests the verify service works on at once, each holding its upload "
        "until its verification ends; one more is answered 503 with `Retry-After` before its "
        "body is read. Unset = twice `CREDLINK_VERIFY_CONCURRENCY`, so the next uploads arrive "
        "while the threads hash.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="CREDLINK_VERIFY_HEADER_TIMEOUT_SECONDS",
        description="Seconds a client of the verify service has to send a request's headers, "
        "from its connection or its previous answer; then the connection is closed (an idle "
        "kept-alive connection too).",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias="CREDLINK_VERIFY_BODY_TIMEOUT_SECONDS",
        description="Seconds a client of the verify service has to send a request's body once "
        "admitted; then it is answered 408 and gives its place up.",
    )

    @property
    def admitted_requests(self) -> int:
        """Requests the verify service works on at once (`max_in_flight`, or its default)."""
        return self.max_in_flight if self.max_in_flight is not None else 2 * self.concurrency


class DevSettings(BaseModel):
    """The local development stack (`credlink dev ...`)."""

    model_config = _GROUP_CONFIG

    home: Path = Field(
        Path(".credlink"),
        validation_alias="CREDLINK_DEV_HOME",
        description="State of the local stack: data dirs, PID files, logs.",
    )
    kafka_port: int = Field(
        9092,
        ge=1,
        le=65535,
        validation_alias="CREDLINK_DEV_KAFKA_PORT",
        description="Local broker client port.",
    )
    controller_port: int = Field(
        9093,
        ge=1,
        le=65535,
        validation_alias="CREDLINK_DEV_CONTROLLER_PORT",
        description="Local broker KRaft controller port.",
    )
    s3_port: int = Field(
        9000,
        ge=1,
        le=65535,
        validation_alias="CREDLINK_DEV_S3_PORT",
        description="Local S3 (moto) endpoint port.",
    )
    postgres_port: int = Field(
        5433,
        ge=1,
        le=65535,
        validation_alias="CREDLINK_DEV_POSTGRES_PORT",
        description="Local PostgreSQL (proof index) port.",
    )
    kafka_cache_dir: Path = Field(
        Path.home() / ".cache" / "credlink" / "kafka",
        validation_alias="CREDLINK_KAFKA_CACHE_DIR",
        description="Where the Apache Kafka jars fetched from Maven Central are cached.",
    )


@dataclass(frozen=True)
class Variable:
    """One setting: its group and field, and the variables that set it, the first winning."""

    group: str
    field: str
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The `CREDLINK_*` variable of the setting."""
        return next(name for name in self.names if name.startswith("CREDLINK_"))


def _variable_names(field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    raise TypeError(f"setting {field} names no variable")


def _group_model(field: FieldInfo) -> type[BaseModel]:
    group = field.annotation
    if not (isinstance(group, type) and issubclass(group, BaseModel)):
        raise TypeError(f"settings group {field} is no model")
    return group


class _GroupedVariables(PydanticBaseSettingsSource):
    """The settings one flat set of variables (the environment, or `.env`) holds, by group.

    A group's fields are found by their own variables, not by a common prefix: some sit outside
    their group's (`CREDLINK_APP_ID` in `kafka`, `CREDLINK_KAFKA_CACHE_DIR` in `dev`).
    """

    def __init__(
        self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]
    ) -> None:
        super().__init__(settings_cls)
        # The built-in sources key variables in lower case: names are case-insensitive.
        self._variables = variables

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values: dict[str, str] = {}
        for name, setting in _group_model(field).model_fields.items():
            for variable in _variable_names(setting):
                value = self._variables.get(variable.lower())
                if value is not None:
                    values[name] = value
                    break
        return values, field_name, True

    def __call__(self) -> dict[str, Any]:
        found = {}
        for group, field in self.settings_cls.model_fields.items():
            values, _, _ = self.get_field_value(field, group)
            if values:
                found[group] = values
        return found


class Settings(BaseSettings):
    """Configuration of the worker, the connectors and the local development stack."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    c2pa: ContentCredentialSettings = Field(default_factory=ContentCredentialSettings)
    store: ProofStoreSettings = Field(default_factory=ProofStoreSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    dev: DevSettings = Field(default_factory=DevSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: arguments, then the environment, then `.env` (no secrets
        # directory is configured).
        return (
            init_settings,
            _GroupedVariables(settings_cls, _variables_of(env_settings)),
            _GroupedVariables(settings_cls, _variables_of(dotenv_settings)),
        )

    @classmethod
    def variables(cls) -> Iterator[Variable]:
        """Every setting, group by group, with its variables."""
        for group, field in cls.model_fields.items():
            for name, setting in _group_model(field).model_fields.items():
                yield Variable(group, name, _variable_names(setting))

    def updated(self, **groups: Mapping[str, object]) -> Settings:
        """A copy with some fields of some groups replaced, validated as the environment is:
        `settings.updated(kafka={"topic_prefix": "test."}, worker={"web_port": 0})`."""
        changes = {}
        for name, values in groups.items():
            group: BaseModel = getattr(self, name)
            changes[name] = type(group).model_validate({**dict(group), **values})
        return self.model_copy(update=changes)


def _variables_of(source: PydanticBaseSettingsSource) -> Mapping[str, str | None]:
    if not isinstance(source, EnvSettingsSource):
        raise TypeError(f"{source} is no source of environment variables")
    return source.env_vars


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
