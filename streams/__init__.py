"""CredLink Streams: signed provenance proofs for images, computed on Apache Kafka."""

__version__ = "0.1.0"
