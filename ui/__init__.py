"""Streamlit user interface of the praktijkkaart-assistent (entry point: `streamlit run ui/app.py`)."""
