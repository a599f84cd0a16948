"""Renderings of a `CheckReport`: text for people, JSON for scripts, annotations for GitHub."""
