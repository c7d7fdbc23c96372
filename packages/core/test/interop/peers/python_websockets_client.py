"""Interop peer: Debian's python3-websockets as a client of our server.

Usage: python3 python_websockets_client.py URL [--deflate]
Prints one JSON report of the checks (see interop_common.py and test/interop/matrix.ts).
"""
import asyncio
import sys

import websockets

from interop_common import FRAGMENTED, PEER_CLOSE, PING, SIZES, TEXTS, US_CLOSE, pattern, print_report


async def main(url, deflate):
    options = {} if deflate else {"compression": None}
    checks = {}
    async with websockets.connect(url, subprotocols=["pubsub.v1"], max_size=None, **options) as ws:
        subprotocol = ws.subprotocol
        extensions = [extension.name for extension in ws.extensions]
        for name, text in TEXTS.items():
            await ws.send(text)
            checks[name] = (await ws.recv()) == text
        for name, size in SIZES.items():
            data = pattern(size)
            await ws.send(data)
            checks[name] = (await ws.recv()) == data
        # An iterable is sent as a fragmented message, ended by an empty continuation frame.
        await ws.send(["frag", "mented ", "κό", "σμε"])
        checks["fragments-in"] = (await ws.recv()) == FRAGMENTED
        # Our server answers "fragments" in fragments, with a ping between them.
        await ws.send("fragments")
        checks["fragments-out"] = (await ws.recv()) == FRAGMENTED
        pong_waiter = await ws.ping(PING)
        await asyncio.wait_for(pong_waiter, 5)
        checks["peer-ping"] = True
        await ws.send("close:%d:%s" % US_CLOSE)
        try:
            await asyncio.wait_for(ws.recv(), 5)
            checks["close-from-us"] = False
        except websockets.ConnectionClosed as closed:
            checks["close-from-us"] = closed.rcvd is not None and (closed.rcvd.code, closed.rcvd.reason) == US_CLOSE
    async with websockets.connect(url, subprotocols=["pubsub.v1"], **options) as ws:
        await ws.close(code=PEER_CLOSE[0], reason=PEER_CLOSE[1])
    print_report(subprotocol, extensions, checks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--deflate" in sys.argv))
