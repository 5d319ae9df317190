"""Corpus loading, normalisation, embedder backends, the FAISS index and retrieval."""
