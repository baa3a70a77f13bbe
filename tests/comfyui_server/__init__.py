"""The test side of the project's ComfyUI protocol server (executors/demo_server): pytest
fixtures, the switch to a real server (real.py), a raw WebSocket recorder (probe.py) and the
recorded scenarios' workflows (examples.py)."""
