"""Pages readers browse. Importing the package registers every view module on its blueprint."""
from afterimage.public import people, preview_cards, routes, uploaded_covers, years  # noqa: F401  (each registers views)
from afterimage.public import map as map_views  # noqa: F401  (named so, it does not hide the builtin map)
from afterimage.public.blueprint import bp

__all__ = ["bp"]
