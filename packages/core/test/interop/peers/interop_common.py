"""What every interop peer sends and expects; mirrors test/interop/matrix.ts.

Check names are our side's: "fragments-in" is a message the peer sends in fragments (our side receives
it), "fragments-out" one our side sends in fragments (a peer client asks for it with "fragments").
"""
import json

TEXTS = {"text-ascii": "hello, switchboard", "text-utf8": "κόσμε 🚀 ünïcödé 世界"}
SIZES = {"binary-0": 0, "binary-125": 125, "binary-126": 126, "binary-65535": 65535, "binary-65536": 65536, "binary-1MiB": 1 << 20}
FRAGMENTED = "fragmented κόσμε"
US_CLOSE = (4001, "bye from switchboard")
PEER_CLOSE = (4000, "bye from peer")
PING = b"are you there"


def pattern(size):
    return bytes((i * 7 + 3) & 0xFF for i in range(size))


def parse_close_command(message):
    """'close:CODE:REASON' -> (code, reason), else None."""
    if isinstance(message, str) and message.startswith("close:"):
        _, code, reason = (message.split(":", 2) + [""])[:3]
        return int(code), reason
    return None


def print_report(subprotocol, extensions, checks):
    print(json.dumps({"subprotocol": subprotocol or "", "extensions": extensions, "checks": checks}), flush=True)
