"""zhaoshang: REST backend for district investment-promotion offices (招商办)."""

__version__ = "0.1.0"
