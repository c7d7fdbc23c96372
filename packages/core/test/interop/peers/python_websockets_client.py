"""Interop peer: Debian's python3-websockets as a client of our server.

Usage: python3 python_websockets_client.py URL [--deflate]
Prints one JSON object with what it negotiated and which echo checks passed.
"""
import asyncio
import json
import sys

import websockets

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]


def pattern(size):
    return bytes((i * 7 + 3) & 0xFF for i in range(size))


async def main(url, deflate):
    options = {} if deflate else {"compression": None}
    report = {"checks": {}}
    checks = report["checks"]
    async with websockets.connect(url, subprotocols=["pubsub.v1"], max_size=None, **options) as ws:
        report["subprotocol"] = ws.subprotocol
        report["extensions"] = [extension.name for extension in ws.extensions]
        for name, text in [("text-ascii", "hello, switchboard"), ("text-utf8", "κόσμε 🚀 ünïcödé 世界")]:
            await ws.send(text)
            checks[name] = (await ws.recv()) == text
        for size in SIZES:
            data = pattern(size)
            await ws.send(data)
            checks[f"binary-{size}"] = (await ws.recv()) == data
        # An iterable is sent as a fragmented message; websockets ends it with an empty continuation frame.
        await ws.send(["frag", "mented ", "κό", "σμε"])
        checks["fragmented-text"] = (await ws.recv()) == "fragmented κόσμε"
        await ws.send([b"\x00\x01", b"", b"\x02"])
        checks["fragmented-binary"] = (await ws.recv()) == b"\x00\x01\x02"
        pong_waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(pong_waiter, 5)
        checks["ping-pong"] = True
        await ws.send("close:4001:server says bye")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            checks["server-close"] = False
        except websockets.ConnectionClosed as closed:
            report["server_close"] = [closed.rcvd.code, closed.rcvd.reason] if closed.rcvd else None
    async with websockets.connect(url, subprotocols=["pubsub.v1"], **options) as ws:
        await ws.send("last words")
        await ws.recv()
        await ws.close(code=4000, reason="client done")
        report["client_close_rcvd"] = [ws.close_code, ws.close_reason]
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--deflate" in sys.argv))
