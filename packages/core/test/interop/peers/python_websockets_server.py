"""Interop peer: Debian's python3-websockets as an echo server for our client.

Usage: python3 python_websockets_server.py [--deflate]
Prints "listening PORT" once ready, and "closed CODE REASON" for each close frame a client sent. Echoes every
message; "close:CODE:REASON" closes with that code; "fragments" sends a fragmented text message, which
python-websockets ends with an empty continuation frame.
"""
import asyncio
import sys

import websockets

from interop_common import parse_close_command


async def handler(ws, path=None):
    try:
        async for message in ws:
            command = parse_close_command(message)
            if command is not None:
                await ws.close(*command)
                return
            if message == "fragments":
                await ws.send(["frag", "mented ", "κό", "σμε"])
                continue
            await ws.send(message)
    finally:
        await ws.wait_closed()
        if ws.close_rcvd is not None:
            print(f"closed {ws.close_rcvd.code} {ws.close_rcvd.reason}", flush=True)


async def main(deflate):
    options = {} if deflate else {"compression": None}
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["pubsub.v1"], max_size=None, **options) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main("--deflate" in sys.argv))
