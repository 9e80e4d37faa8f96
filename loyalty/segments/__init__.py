"""Explained customer segments: clustering with stable ids, and plain-language profiles."""

from loyalty.segments.cluster import (
    BEHAVIOUR_COLUMNS,
    SegmentationError,
    SegmentModel,
    behaviour_frame,
    match_segments,
    segment_id,
)
from loyalty.segments.describe import Driver, SegmentProfile, describe

__all__ = [
    "BEHAVIOUR_COLUMNS", "Driver", "SegmentModel", "SegmentProfile", "SegmentationError",
    "behaviour_frame", "describe", "match_segments", "segment_id",
]
