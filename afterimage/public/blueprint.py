"""The readers' blueprint, on its own so that every view module can register on it without a circle."""
from flask import Blueprint

bp = Blueprint("public", __name__)
