"""The embeddable widget, oEmbed and feeds (being written)."""
from flask import Blueprint

bp = Blueprint("widget", __name__)
