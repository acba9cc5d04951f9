"""`credlink bench`: the compute limit of proving images, and the pipeline measured against it."""
