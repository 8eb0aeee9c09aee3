"""Hand-written evaluation data for the RAG bot; see README.md. A package so tests can import validate."""
