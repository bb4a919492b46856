"""Streamlit helpers shared by the pages (the UI layer; the domain lives in `aiops`)."""
