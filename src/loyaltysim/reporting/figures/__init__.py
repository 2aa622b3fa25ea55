"""Figures: plain functions from tables to matplotlib Figures."""
