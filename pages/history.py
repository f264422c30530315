"""History (placeholder while storage lands)."""

import streamlit as st

st.title("History")
