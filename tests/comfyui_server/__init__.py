"""A faithful fake of the ComfyUI 0.3.64 server, written from recorded traces
(shared/fixtures/comfyui-real) for tests and the app's demo mode."""

from .server import ComfyServer

__all__ = ["ComfyServer"]
