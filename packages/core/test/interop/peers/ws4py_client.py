"""Interop peer: Debian's python3-ws4py (threaded client) as a client of our server.

Usage: python3 ws4py_client.py URL
Prints one JSON report. ws4py has no permessage-deflate.
"""
import queue
import sys

from ws4py.client.threadedclient import WebSocketClient

from interop_common import PEER_CLOSE, PING, SIZES, TEXTS, US_CLOSE, FRAGMENTED, pattern, print_report


class Client(WebSocketClient):
    def __init__(self, url):
        super().__init__(url, protocols=["pubsub.v1"])
        self.messages = queue.Queue()
        self.pongs = queue.Queue()
        self.closes = queue.Queue()

    def received_message(self, message):
        self.messages.put((message.is_binary, bytes(message.data)))

    def ponged(self, pong):
        self.pongs.put(bytes(pong.data))

    def closed(self, code, reason=None):
        self.closes.put((code, reason.decode("utf-8") if isinstance(reason, bytes) else reason))


def main(url):
    checks = {}
    ws = Client(url)
    ws.connect()
    subprotocol = ws.protocols[0].decode() if ws.protocols else ""
    extensions = [e.decode() for e in ws.extensions]
    for name, text in TEXTS.items():
        ws.send(text)
        checks[name] = ws.messages.get(timeout=10) == (False, text.encode("utf-8"))
    for name, size in SIZES.items():
        data = pattern(size)
        ws.send(data, binary=True)
        checks[name] = ws.messages.get(timeout=10) == (True, data)
    # A generator is sent as a fragmented message; these chunks split the 2-byte "ό" across fragments.
    encoded = FRAGMENTED.encode("utf-8")
    ws.send((chunk for chunk in (encoded[:6], encoded[6:14], encoded[14:])), binary=False)
    checks["fragments-in"] = ws.messages.get(timeout=10) == (False, encoded)
    # Our server answers "fragments" in fragments, with a ping between them.
    ws.send("fragments")
    checks["fragments-out"] = ws.messages.get(timeout=10) == (False, encoded)
    ws.ping(PING)
    checks["peer-ping"] = ws.pongs.get(timeout=5) == PING
    ws.send("close:%d:%s" % US_CLOSE)
    checks["close-from-us"] = ws.closes.get(timeout=5) == US_CLOSE
    second = Client(url)
    second.connect()
    second.close(code=PEER_CLOSE[0], reason=PEER_CLOSE[1])
    second.closes.get(timeout=5)
    print_report(subprotocol, extensions, checks)


if __name__ == "__main__":
    main(sys.argv[1])
