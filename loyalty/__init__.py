"""The loyalty domain: data model, ingestion, features, models, segments, rewards."""

__version__ = "0.1.0"
