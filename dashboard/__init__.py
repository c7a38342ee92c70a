"""The Streamlit dashboard: reads through monitor.store; never imports torch or transformers."""
