"""A faithful fake of the ComfyUI server for tests and the app's demo mode: profile "0.3.64"
written from recorded traces (shared/fixtures/comfyui-real), profile "current" from the newest
Comfy-Org/ComfyUI sources (see profiles.py)."""

from .server import ComfyServer

__all__ = ["ComfyServer"]
