"""Atom feeds (being written)."""
from flask import Blueprint

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
