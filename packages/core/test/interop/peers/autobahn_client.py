"""Interop peer: Debian's python3-autobahn (asyncio) as a client of our server.

Usage: python3 autobahn_client.py URL [--deflate]
Prints one JSON report. Autobahn fragments at a byte count, so a multi-byte character is split across
fragments, and it ends such a message with an empty continuation frame when the size divides evenly.
"""
import asyncio
import sys
from urllib.parse import urlparse

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateResponse, PerMessageDeflateResponseAccept

from interop_common import FRAGMENTED, PEER_CLOSE, PING, SIZES, TEXTS, US_CLOSE, pattern, print_report


class Client(WebSocketClientProtocol):
    def onConnect(self, response):
        self.factory.state["subprotocol"] = response.protocol
        self.factory.state["extensions"] = [extension.EXTENSION_NAME for extension in response.extensions]

    def onOpen(self):
        self.factory.opened.set_result(self)

    def onMessage(self, payload, isBinary):
        self.factory.messages.put_nowait((isBinary, payload))

    def onPong(self, payload):
        self.factory.pongs.put_nowait(payload)

    def onClose(self, wasClean, code, reason):
        self.factory.closes.put_nowait((code, reason))
        if not self.factory.opened.done():
            self.factory.opened.set_exception(RuntimeError(f"closed before opening: {code} {reason}"))


def make_factory(url, deflate):
    factory = WebSocketClientFactory(url, protocols=["pubsub.v1"])
    factory.protocol = Client
    options = {"maxMessagePayloadSize": 0, "maxFramePayloadSize": 0}
    if deflate:
        options["perMessageCompressionOffers"] = [PerMessageDeflateOffer()]
        options["perMessageCompressionAccept"] = lambda response: PerMessageDeflateResponseAccept(response) if isinstance(response, PerMessageDeflateResponse) else None
    factory.setProtocolOptions(**options)
    factory.state = {}
    factory.opened = asyncio.get_running_loop().create_future()
    factory.messages = asyncio.Queue()
    factory.pongs = asyncio.Queue()
    factory.closes = asyncio.Queue()
    return factory


async def open_connection(url, deflate):
    factory = make_factory(url, deflate)
    target = urlparse(url)
    await asyncio.get_running_loop().create_connection(factory, target.hostname, target.port)
    return factory, await asyncio.wait_for(factory.opened, 10)


async def main(url, deflate):
    checks = {}
    factory, ws = await open_connection(url, deflate)
    next_message = lambda: asyncio.wait_for(factory.messages.get(), 10)
    for name, text in TEXTS.items():
        ws.sendMessage(text.encode("utf-8"), isBinary=False)
        checks[name] = await next_message() == (False, text.encode("utf-8"))
    for name, size in SIZES.items():
        data = pattern(size)
        ws.sendMessage(data, isBinary=True)
        checks[name] = await next_message() == (True, data)
    # 5-byte fragments: "fragmented κόσμε" is 22 bytes, split inside "κ", "ό" and "σ".
    ws.sendMessage(FRAGMENTED.encode("utf-8"), isBinary=False, fragmentSize=5)
    checks["fragments-in"] = await next_message() == (False, FRAGMENTED.encode("utf-8"))
    # Our server answers "fragments" in fragments, with a ping between them.
    ws.sendMessage(b"fragments", isBinary=False)
    checks["fragments-out"] = await next_message() == (False, FRAGMENTED.encode("utf-8"))
    ws.sendPing(PING)
    checks["peer-ping"] = await asyncio.wait_for(factory.pongs.get(), 5) == PING
    ws.sendMessage(("close:%d:%s" % US_CLOSE).encode("utf-8"), isBinary=False)
    code, reason = await asyncio.wait_for(factory.closes.get(), 5)
    checks["close-from-us"] = (code, reason) == US_CLOSE
    second, ws2 = await open_connection(url, deflate)
    ws2.sendClose(code=PEER_CLOSE[0], reason=PEER_CLOSE[1])
    await asyncio.wait_for(second.closes.get(), 5)
    print_report(factory.state.get("subprotocol"), factory.state.get("extensions", []), checks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--deflate" in sys.argv))
