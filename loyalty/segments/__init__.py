"""Explained customer segments: clustering with stable ids, plain-language profiles, storage.

The segment map (matplotlib) is in `loyalty.segments.plot`, imported only where drawn.
"""

from loyalty.segments.cluster import (
    BEHAVIOUR_COLUMNS,
    SegmentationError,
    SegmentModel,
    behaviour_frame,
    match_segments,
    segment_id,
)
from loyalty.segments.describe import Driver, SegmentProfile, describe
from loyalty.segments.store import (
    Member,
    MemberPage,
    SegmentBuild,
    SegmentSummary,
    build_segments,
    get_segment,
    list_segments,
    segment_document,
    segment_members,
    segment_of,
)

__all__ = [
    "BEHAVIOUR_COLUMNS", "Driver", "SegmentModel", "SegmentProfile", "SegmentationError",
    "behaviour_frame", "describe", "match_segments", "segment_id",
    "Member", "MemberPage", "SegmentBuild", "SegmentSummary", "build_segments",
    "get_segment", "list_segments", "segment_document",
    "segment_members", "segment_of",
]
