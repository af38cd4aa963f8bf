"""The catalog: films, books, people, tags and lists, the rules they keep, their covers and search."""
