"""Ingest: chunk the praktijkkaart (and linked-resource snapshots) into the vector store."""
