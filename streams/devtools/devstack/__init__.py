"""The local development stack: a real Apache Kafka broker and an S3 endpoint on loopback."""
