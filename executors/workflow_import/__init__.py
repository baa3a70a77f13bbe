"""Bring your own ComfyUI workflow: any workflow file (API or UI format, or a file ComfyUI
saved with its graph embedded) becomes an ordinary template (importer.py)."""
