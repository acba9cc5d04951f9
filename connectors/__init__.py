"""Programs that live around the pipeline: ingest producers, proof consumers, replay."""
