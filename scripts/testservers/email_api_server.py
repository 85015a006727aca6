"""A local stand-in for Postmark's email API (POST /email), for Pictor's tests.

Usage: email_api_server.py DIR
Answers as Postmark documents: 200 {"ErrorCode": 0, "Message": "OK", ...}; 401 for a
token other than "test-token"; 422 {"ErrorCode": 300, "Message": "Invalid 'To' address"}
for recipients at reject.example; 429 for busy.example; 500 for broken.example.
Records each request as DIR/N.json ({"path", "headers", "body"}) and prints "PORT n".
"""
import http.server
import json
import pathlib
import sys
import threading

directory = pathlib.Path(sys.argv[1])
directory.mkdir(parents=True, exist_ok=True)
counter = {"n": 0}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            counter["n"] += 1
            number = counter["n"]
        (directory / f"{number}.json").write_text(json.dumps(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": raw.decode()}))
        body = json.loads(raw or b"{}")
        to = body.get("To", "")
        if self.path != "/email":
            self.answer(404, {"ErrorCode": 404, "Message": "Not found"})
        elif self.headers.get("X-Postmark-Server-Token") != "test-token":
            self.answer(401, {"ErrorCode": 10, "Message": "Bad or missing Server API token"})
        elif to.endswith("@reject.example"):
            self.answer(422, {"ErrorCode": 300, "Message": "Invalid 'To' address"})
        elif to.endswith("@busy.example"):
            self.answer(429, {"ErrorCode": 429, "Message": "Rate limit exceeded"})
        elif to.endswith("@broken.example"):
            self.answer(500, {"ErrorCode": 500, "Message": "Internal server error"})
        else:
            self.answer(200, {"To": to, "SubmittedAt": "2026-11-25T00:00:00Z",
                              "MessageID": f"00000000-0000-0000-0000-{number:012d}", "ErrorCode": 0, "Message": "OK"})

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
