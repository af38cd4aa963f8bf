"""The author's studio, its views split by what she edits. Importing the package registers them all on its blueprint."""
from afterimage.studio import (  # noqa: F401  (each module registers its views)
    account, dashboard, diary, imports, items, lists, paste_views, tags, transfer,
)
from afterimage.studio.blueprint import bp

__all__ = ["bp"]
