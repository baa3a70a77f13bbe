"""discover() against real servers on loopback: the project's fake ComfyUI, LlmServer, real MCP
servers (mcp's MCPServer, streamable HTTP, as WanGP builds its own), real Gradio apps, and a
few sockets that misbehave. Every test passes its own `ports`, so whatever else runs on this
machine's default ports cannot change the results."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from executors.backends.discovery import DEFAULT_PORTS, KINDS, Found, discover
from tests.llm_server import LlmServer
from tests.wangp_server import WanGPServer

TIMEOUT_S = 0.25


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


# --- servers ------------------------------------------------------------------------------------


@contextmanager
def json_server(routes: dict[str, tuple[int, Any]]) -> Iterator[int]:
    """A tiny HTTP server: GET path → (status, JSON body); anything else 404. Yields the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = routes.get(self.path, (404, {"detail": "Not Found"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def asgi_server(app: Any) -> Iterator[int]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yields the port."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def mcp_app(name: str, tools: list[str], *, stateless: bool = True) -> Any:
    """A real MCP server (mcp 2.x MCPServer, formerly FastMCP) with the named tools. WanGP's own
    (shared/mcp_server.py) is FastMCP("WanGP", json_response=True, stateless_http=True)."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(name, log_level="WARNING")
    for tool in tools:

        def run(source: dict) -> dict:
            """Start a job."""
            return {"job_id": "job-1", "source": source}

        server.add_tool(run, name=tool)
    return server.streamable_http_app(json_response=stateless, stateless_http=stateless)


def slash_redirect(app: Any) -> Any:
    """The app behind a 307 from /mcp to /mcp/ (mcp 1.x mounted its endpoint so), the inner
    app still seeing /mcp: the probe must follow a redirect with its POST body."""

    async def wrapper(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/mcp":
            headers = [(b"location", b"/mcp/"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] == "http" and scope["path"] == "/mcp/":
            scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        await app(scope, receive, send)

    return wrapper


@pytest.fixture
def llm_server() -> Iterator[LlmServer]:
    server = LlmServer(models=["llama3", "qwen2.5"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gradio_apps() -> Iterator[dict[str, Any]]:
    """Two real Gradio apps in this process: a plain one and one built like WanGP's UI."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        import gradio as gr

        with gr.Blocks(title="Storyboard") as plain:
            gr.Markdown("# Storyboard")
            gr.Textbox(label="prompt")
        # WanGP's wgp.py: Blocks(title="WanGP") and this header markdown.
        with gr.Blocks(title="WanGP") as wangp:
            gr.Markdown(
                '<div align=center><H1>Wan<SUP style="color: #2563eb;">GP</SUP> v10.01 '
                "<FONT SIZE=4>by <I>DeepBeepMeep</I></FONT></H1></div>"
            )
            gr.Textbox(label="prompt")
        apps = {"plain": plain, "wangp": wangp}
        for app in apps.values():
            app.launch(
                server_name="127.0.0.1",
                server_port=free_port(),
                prevent_thread_lock=True,
                quiet=True,
            )
        try:
            yield {"version": gr.__version__, **apps}
        finally:
            for app in apps.values():
                app.close()


@contextmanager
def silent_socket() -> Iterator[int]:
    """A socket that accepts connections (the kernel does it) and never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@contextmanager
def full_backlog() -> Iterator[int | None]:
    """A listening socket whose accept queue is full, so a further connect hangs (its SYN is
    dropped) on loopback: a stand-in for a LAN host that drops packets. Yields None where the
    kernel refuses instead (not Linux)."""
    held: list[socket.socket] = []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port, hangs = sock.getsockname()[1], False
        for _ in range(8):
            client = socket.socket()
            client.settimeout(0.2)
            try:
                client.connect(("127.0.0.1", port))
                held.append(client)
            except TimeoutError:
                client.close()
                hangs = True
                break
            except OSError:
                client.close()
                break
        try:
            yield port if hangs else None
        finally:
            for client in held:
                client.close()


@contextmanager
def banner_socket(banner: bytes) -> Iterator[int]:
    """A server that is not HTTP: it sends a banner to whoever connects and hangs up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.sendall(banner)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def timed(call: Callable[[], list[Found]]) -> tuple[list[Found], float]:
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


# --- ComfyUI, LLM servers -----------------------------------------------------------------------


def test_comfyui_found_with_version_and_device(comfy_server) -> None:
    found = discover(ports={comfy_server.port: ("comfyui",)}, timeout_s=TIMEOUT_S)
    assert found == [
        Found("comfyui", comfy_server.url, found[0].detail, comfy_server.port),
    ]
    assert found[0].detail.startswith("ComfyUI 0.3.64")  # the fake's comfyui_version
    assert comfy_server.config.device_name.split(" : ")[0] in found[0].detail


def test_comfyui_found_as_a_configured_url(comfy_server) -> None:
    """A configured URL gets every probe in order; ComfyUI's is first."""
    found = discover([comfy_server.url + "/"], ports={}, timeout_s=TIMEOUT_S)
    assert [(f.kind, f.url) for f in found] == [("comfyui", comfy_server.url)]


def test_llm_server_is_openai_compatible(llm_server: LlmServer) -> None:
    """LlmServer serves /v1/models and /v1/chat/completions plus Ollama's /api/tags, but not
    /api/version or /api/chat. Probed as Ollama's port is (Ollama first), it is reported as
    OpenAI-compatible: its only chat endpoint is /v1, so "openai/<model>" with this /v1 URL
    is the configuration that works, while "ollama_chat/…" would call a missing /api/chat."""
    port = port_of(llm_server.url)
    found = discover(ports={port: DEFAULT_PORTS[11434]}, timeout_s=TIMEOUT_S)
    assert found == [
        Found("openai_compatible", llm_server.url + "/v1", "2 models: llama3, qwen2.5", port)
    ]


def test_llm_server_found_from_a_configured_v1_url(llm_server: LlmServer) -> None:
    found = discover([llm_server.url + "/v1"], ports={}, timeout_s=TIMEOUT_S)
    assert [(f.kind, f.url) for f in found] == [("openai_compatible", llm_server.url + "/v1")]


def test_ollama_by_its_version_endpoint() -> None:
    """Ollama's own answers (GET /api/version, /api/tags, /v1/models), from a stand-in."""
    routes = {
        "/api/version": (200, {"version": "0.12.3"}),
        "/api/tags": (200, {"models": [{"name": "llama3.2:latest"}, {"name": "qwen3:8b"}]}),
        "/v1/models": (200, {"object": "list", "data": [{"id": "llama3.2:latest"}]}),
    }
    with json_server(routes) as port:
        found = discover(ports={port: DEFAULT_PORTS[11434]}, timeout_s=TIMEOUT_S)
    assert found == [Found("ollama", f"http://127.0.0.1:{port}", "Ollama 0.12.3 · 2 models", port)]


def test_litellm_proxy_by_its_health_endpoints() -> None:
    """What litellm 1.106 proxy answers without a key (proxy/health_endpoints/
    _health_endpoints.py): /health/liveliness → "I'm alive!", /health/readiness → status and
    db; /v1/models needs a key. The proxy's extras are not installed here, so a stand-in."""
    routes = {
        "/health/liveliness": (200, "I'm alive!"),
        "/health/readiness": (200, {"status": "healthy", "db": "Not connected"}),
        "/v1/models": (401, {"error": {"message": "Authentication Error"}}),
    }
    with json_server(routes) as port:
        found = discover(ports={port: DEFAULT_PORTS[4000]}, timeout_s=TIMEOUT_S)
    url = f"http://127.0.0.1:{port}"
    assert found == [Found("litellm_proxy", url, "LiteLLM proxy · healthy", port)]


# --- MCP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tools", "kind", "detail"),
    [
        ("WanGP", ["wangp_generate", "wangp_get_job"], "wangp_mcp", "WanGP · 2 tools"),
        ("video-tools", ["wangp_generate"], "wangp_mcp", "video-tools · 1 tool"),
        ("Sketch", ["draw"], "mcp", "Sketch · 1 tool"),
    ],
)
def test_mcp_server_found_stateless(name: str, tools: list[str], kind: str, detail: str) -> None:
    """WanGP's by its server name or by its wangp_generate tool; the URL ends in /mcp."""
    with asgi_server(mcp_app(name, tools)) as port:
        found = discover(ports={port: DEFAULT_PORTS[7866]}, timeout_s=TIMEOUT_S)
    assert found == [Found(kind, f"http://127.0.0.1:{port}/mcp", detail, port)]


def test_wangp_mcp_found_from_its_configured_url() -> None:
    """The configured endpoint, with a trailing slash (the server redirects /mcp/ → /mcp)."""
    with asgi_server(mcp_app("WanGP", ["wangp_generate"])) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        found = discover([url + "/"], ports={port: ("mcp",)}, timeout_s=TIMEOUT_S)
    assert [(f.kind, f.url, f.port) for f in found] == [("wangp_mcp", url, port)]


def test_the_projects_fake_wangp_found_as_wangp_mcp(tmp_path) -> None:
    """tests/wangp_server.py speaks like `wgp.py --mcp` (mounted at /mcp/: POST /mcp → 307)."""
    server = WanGPServer(tmp_path / "wangp").start()
    try:
        port = port_of(server.url)
        found = discover(ports={port: DEFAULT_PORTS[7866]}, timeout_s=TIMEOUT_S)
    finally:
        server.stop()
    assert [(f.kind, f.url, f.port) for f in found] == [("wangp_mcp", server.url, port)]
    assert found[0].detail.startswith("WanGP · ")
    assert server.calls == []  # listing tools called none


def test_a_wangp_that_wants_a_token_is_unknown_http_asking_for_credentials(tmp_path) -> None:
    server = WanGPServer(tmp_path / "wangp", token="s3cret").start()
    try:
        port = port_of(server.url)
        found = discover(ports={port: ("mcp",)}, timeout_s=TIMEOUT_S)
    finally:
        server.stop()
    assert [(f.kind, f.url) for f in found] == [("unknown_http", server.base_url)]
    assert "asks for credentials" in found[0].detail


def test_mcp_endpoint_behind_a_slash_redirect() -> None:
    with asgi_server(slash_redirect(mcp_app("WanGP", ["wangp_generate"]))) as port:
        found = discover(ports={port: ("mcp",)}, timeout_s=TIMEOUT_S)
    assert found == [Found("wangp_mcp", f"http://127.0.0.1:{port}/mcp", "WanGP · 1 tool", port)]


def test_stateful_mcp_server_found_without_listing_tools() -> None:
    """A session-based server answering over SSE: found by its initialize; its session closed."""
    with asgi_server(mcp_app("Sketch", ["draw"], stateless=False)) as port:
        found = discover(ports={port: ("mcp",)}, timeout_s=TIMEOUT_S)
    assert found == [Found("mcp", f"http://127.0.0.1:{port}/mcp", "Sketch", port)]


# --- Gradio -------------------------------------------------------------------------------------


def test_gradio_app_found_with_its_version(gradio_apps: dict[str, Any]) -> None:
    port = gradio_apps["plain"].server_port
    found = discover(ports={port: DEFAULT_PORTS[7861]}, timeout_s=TIMEOUT_S)
    detail = f"Gradio {gradio_apps['version']} · Storyboard"
    assert found == [Found("gradio", f"http://127.0.0.1:{port}", detail, port)]


def test_wangp_ui_found_with_a_hint_to_use_its_mcp_server(gradio_apps: dict[str, Any]) -> None:
    port = gradio_apps["wangp"].server_port
    found = discover(ports={port: DEFAULT_PORTS[7860]}, timeout_s=TIMEOUT_S)
    assert [(f.kind, f.url) for f in found] == [("wangp_gradio", f"http://127.0.0.1:{port}")]
    assert found[0].detail.startswith(f"WanGP v10.01 UI (Gradio {gradio_apps['version']})")
    assert "--mcp" in found[0].detail


# --- several at once, and nothing -----------------------------------------------------------


def test_one_scan_finds_them_all_sorted_by_port(comfy_server, llm_server: LlmServer) -> None:
    with asgi_server(mcp_app("WanGP", ["wangp_generate"])) as mcp_port:
        ports = {
            comfy_server.port: ("comfyui",),
            port_of(llm_server.url): DEFAULT_PORTS[11434],
            mcp_port: DEFAULT_PORTS[7866],
            free_port(): ("comfyui",),
        }
        extra = [f"http://127.0.0.1:{mcp_port}/mcp"]  # the same server, configured: once
        found = discover(extra, ports=ports, timeout_s=TIMEOUT_S)
    assert [f.port for f in found] == sorted(f.port for f in found)
    assert {(f.kind, f.port) for f in found} == {
        ("comfyui", comfy_server.port),
        ("openai_compatible", port_of(llm_server.url)),
        ("wangp_mcp", mcp_port),
    }
    assert all(f.kind in KINDS for f in found)


def test_nothing_listening_finds_nothing() -> None:
    ports = {free_port(): kinds for kinds in DEFAULT_PORTS.values()}
    assert discover(ports=ports, timeout_s=TIMEOUT_S) == []


def test_plain_http_server_is_unknown_http() -> None:
    with json_server({}) as port:
        found = discover(ports={port: ("comfyui", "gradio", "mcp")}, timeout_s=TIMEOUT_S)
    assert [(f.kind, f.url) for f in found] == [("unknown_http", f"http://127.0.0.1:{port}")]
    assert found[0].detail.startswith("HTTP server (BaseHTTP/")


def test_a_server_that_is_not_http_finds_nothing() -> None:
    with banner_socket(b"SSH-2.0-OpenSSH_9.6\r\n") as port:
        assert discover(ports={port: ("comfyui", "gradio")}, timeout_s=TIMEOUT_S) == []


def test_a_socket_that_never_answers_finds_nothing_and_returns() -> None:
    """The read timeout ends it (bench/discovery.py prints how long: about 2 × timeout_s)."""
    with silent_socket() as port:
        found, elapsed = timed(lambda: discover(ports={port: ("comfyui",)}, timeout_s=TIMEOUT_S))
    assert found == []
    print(f"silent socket: discover returned after {elapsed:.2f} s")


def test_a_connect_that_hangs_finds_nothing_and_returns() -> None:
    """A host that drops packets, on loopback: the connect timeout ends it."""
    with full_backlog() as port:
        if port is None:
            pytest.skip("this kernel refuses a connect to a full accept queue")
        found, elapsed = timed(lambda: discover(ports={port: ("comfyui",)}, timeout_s=TIMEOUT_S))
    assert found == []
    print(f"hanging connect: discover returned after {elapsed:.2f} s")


def test_bad_urls_and_unknown_kinds_raise_nothing() -> None:
    bad = ["", "not a url", "ftp://127.0.0.1:21", "http://127.0.0.1:99999", "http://[::1"]
    assert discover(bad, ports={free_port(): ("no_such_kind",)}, timeout_s=TIMEOUT_S) == []


def test_default_ports_are_loopback_and_cover_the_known_servers() -> None:
    for port, kinds in {
        8188: "comfyui",
        7866: "mcp",
        7860: "gradio",
        4000: "litellm_proxy",
    }.items():
        assert DEFAULT_PORTS[port][0] == kinds
    assert {11434, 1234, 6969, 7865} <= set(DEFAULT_PORTS)
    assert set(range(7860, 7871)) <= set(DEFAULT_PORTS)


def test_found_is_frozen() -> None:
    found = Found("comfyui", "http://127.0.0.1:8188", "ComfyUI", 8188)
    with pytest.raises(AttributeError):
        found.kind = "gradio"  # type: ignore[misc]
