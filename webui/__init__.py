"""Support for the Streamlit pages: session state, run workers, drawing of traces.

Nothing here runs at import time; pages import what they need.
"""
