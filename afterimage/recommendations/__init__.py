"""Recommendations for the web layer: stored lists, pins and hides, set queries, and their upkeep."""
from afterimage.recommendations.queries import (
    Recommendation,
    export_overrides,
    import_overrides,
    recommend_by_kind,
    recommend_for_item,
    recommend_for_items,
    set_override,
    studio_recommendations,
)
from afterimage.recommendations.store import rebuild

__all__ = [
    "Recommendation", "export_overrides", "import_overrides", "rebuild", "recommend_by_kind", "recommend_for_item",
    "recommend_for_items", "set_override", "studio_recommendations",
]
