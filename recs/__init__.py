"""Cross-media "if you liked this" recommendations from TF-IDF similarity; plain data in and out."""

from recs.documents import FIELD_WEIGHTS, ItemDoc
from recs.model import TfidfRecommender
from recs.text import fold_accents

__all__ = ["FIELD_WEIGHTS", "ItemDoc", "TfidfRecommender", "fold_accents"]
