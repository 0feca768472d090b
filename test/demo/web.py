#!/usr/bin/python3
"""The quickstart's web server and client (run inside a lab namespace; standard library only).

    web.py serve <port> <greeting>      answers every GET with "<greeting>; you came from <client ip>"
    web.py get <url> [--timeout <s>]    prints the page; exits 1 when none came
"""

import http.server
import sys
import urllib.request


def serve(port, greeting):
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("%s; you came from %s\n" % (greeting, self.client_address[0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # the demo prints what it fetched; the server stays quiet

    http.server.ThreadingHTTPServer(("0.0.0.0", port), Page).serve_forever()


def get(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as res:
            sys.stdout.write(res.read().decode())
    except OSError as e:
        sys.stderr.write("%s\n" % e)
        return 1
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "serve":
        return serve(int(argv[2]), argv[3])
    if len(argv) in (3, 5) and argv[1] == "get":
        timeout = float(argv[4]) if len(argv) == 5 and argv[3] == "--timeout" else 3.0
        return get(argv[2], timeout)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
