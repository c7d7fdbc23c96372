"""Interop peer: Debian's python3-websockets as an echo server for our client.

Usage: python3 python_websockets_server.py [--deflate]
Prints "listening PORT" once ready. Echoes every message; a text message "close:CODE:REASON" makes it
close the connection with that code.
"""
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    async for message in ws:
        if isinstance(message, str) and message.startswith("close:"):
            _, code, reason = (message.split(":", 2) + [""])[:3]
            await ws.close(int(code), reason)
            return
        await ws.send(message)


async def main(deflate):
    options = {} if deflate else {"compression": None}
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["pubsub.v1"], max_size=None, **options) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main("--deflate" in sys.argv))
