"""Research replicas on real index history: option strategies priced on transforms/surface.py.

Pure (polars/numpy); the flows/research.py flow feeds them and stores their tables.
"""
