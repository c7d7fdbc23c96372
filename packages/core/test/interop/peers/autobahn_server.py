"""Interop peer: Debian's python3-autobahn (asyncio) as an echo server for our client.

Usage: python3 autobahn_server.py [--deflate]
Prints "listening PORT", and "closed CODE REASON" for each close. Echoes every message;
"close:CODE:REASON" closes with that code; "fragments" sends a text message in 5-byte fragments, which
split multi-byte characters.
"""
import asyncio
import sys

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

from interop_common import FRAGMENTED, parse_close_command


class Echo(WebSocketServerProtocol):
    def onConnect(self, request):
        return "pubsub.v1" if "pubsub.v1" in request.protocols else None

    def onMessage(self, payload, isBinary):
        if not isBinary:
            text = payload.decode("utf-8")
            command = parse_close_command(text)
            if command is not None:
                self.sendClose(code=command[0], reason=command[1])
                return
            if text == "fragments":
                self.sendMessage(FRAGMENTED.encode("utf-8"), isBinary=False, fragmentSize=5)
                return
        self.sendMessage(payload, isBinary=isBinary)

    def onClose(self, wasClean, code, reason):
        print(f"closed {code} {reason}", flush=True)


def accept(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


async def main(deflate):
    factory = WebSocketServerFactory("ws://127.0.0.1")
    factory.protocol = Echo
    options = {"maxMessagePayloadSize": 0, "maxFramePayloadSize": 0}
    if deflate:
        options["perMessageCompressionAccept"] = accept
    factory.setProtocolOptions(**options)
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main("--deflate" in sys.argv))
