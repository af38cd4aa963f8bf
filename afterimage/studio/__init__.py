"""The author's studio. Importing the package registers every view module on its blueprint."""
from afterimage.studio import paste_views, routes  # noqa: F401  (each registers views)
from afterimage.studio.blueprint import bp

__all__ = ["bp"]
