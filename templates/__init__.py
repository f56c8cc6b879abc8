"""Jinja2 templates and CSS of every document harness renders."""
