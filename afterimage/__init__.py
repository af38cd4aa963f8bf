"""Afterimage: a catalog of films and books with explained, cross-media recommendations."""
