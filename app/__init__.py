"""The Streamlit chat page and its helpers (rendering, shared resources, corpus management)."""
