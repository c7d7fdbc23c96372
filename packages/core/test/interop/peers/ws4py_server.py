"""Interop peer: Debian's python3-ws4py as an echo server (wsgiref) for our client.

Usage: python3 ws4py_server.py
Prints "listening PORT", and "closed CODE REASON" for each connection's close. Echoes every message;
"close:CODE:REASON" closes with that code; "fragments" sends a text message in fragments that split a
multi-byte character. ws4py has no permessage-deflate.
"""
from wsgiref.simple_server import make_server

from ws4py.server.wsgirefserver import WebSocketWSGIRequestHandler, WSGIServer
from ws4py.server.wsgiutils import WebSocketWSGIApplication
from ws4py.websocket import WebSocket

from interop_common import FRAGMENTED, parse_close_command


class Echo(WebSocket):
    def received_message(self, message):
        data = bytes(message.data)
        if not message.is_binary:
            command = parse_close_command(data.decode("utf-8"))
            if command is not None:
                self.close(*command)
                return
            if data == b"fragments":
                encoded = FRAGMENTED.encode("utf-8")
                self.send((chunk for chunk in (encoded[:6], encoded[6:14], encoded[14:])), binary=False)
                return
        self.send(data, binary=message.is_binary)

    def closed(self, code, reason=None):
        reason = reason.decode("utf-8") if isinstance(reason, bytes) else reason
        print(f"closed {code} {reason}", flush=True)


def main():
    app = WebSocketWSGIApplication(protocols=["pubsub.v1"], handler_cls=Echo)
    server = make_server("127.0.0.1", 0, server_class=WSGIServer, handler_class=WebSocketWSGIRequestHandler, app=app)
    server.initialize_websockets_manager()
    print(f"listening {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
