"""The project's ComfyUI protocol server: the backend `takeboard --demo` starts (placeholder
media drawn from the prompt, no AI model) and the server the tests talk to. It plays two
versions: "0.3.64", written from recorded traces (shared/fixtures/comfyui-real), and "current",
from the newest Comfy-Org/ComfyUI sources (see profiles.py). `python -m executors.demo_server`
runs it on its own.

The fault hooks (faults.py: planted node failures, proxy errors, hostile answers, …) are part of
the server because they reach into its routes, socket hub and worker; each is off until a
ComfyServer method switches it on, and the demo backend switches none on. The tests' fixtures,
the switch to a real ComfyUI and the raw socket probe live in tests/comfyui_server.
"""

from .server import ComfyServer

__all__ = ["ComfyServer"]
