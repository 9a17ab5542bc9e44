"""tanul: a deep-learning library whose engine is NumPy."""

__version__ = "0.1.0"
