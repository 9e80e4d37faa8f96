"""Request and response schemas of the API (pydantic v2), one module per area."""
