"""Figures (data in, matplotlib Figure out) and reports (Markdown and HTML)."""
