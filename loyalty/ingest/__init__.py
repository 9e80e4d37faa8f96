"""Ingestion that loses nothing: validate every row, quarantine the bad ones, upsert the rest."""

from loyalty.ingest.files import ingest_file
from loyalty.ingest.loader import Counts
from loyalty.ingest.schemas import KINDS, LOAD_ORDER

__all__ = ["KINDS", "LOAD_ORDER", "Counts", "ingest_file"]
