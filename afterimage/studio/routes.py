"""The author's studio (being written)."""
from flask import Blueprint

bp = Blueprint("studio", __name__, url_prefix="/studio")
