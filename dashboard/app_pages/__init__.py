"""Page scripts run by st.navigation in app.py (a package, so installs ship them)."""
