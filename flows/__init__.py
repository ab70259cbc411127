"""Prefect flows: thin orchestration of sources, media, verifiers, store and report."""
