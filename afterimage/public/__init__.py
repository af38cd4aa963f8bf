"""Pages readers browse. Importing the package registers every view module on its blueprint."""
from afterimage.public import people, preview_cards, routes, uploaded_covers  # noqa: F401  (each registers views)
from afterimage.public.blueprint import bp

__all__ = ["bp"]
