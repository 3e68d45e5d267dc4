"""An SMTP server (aiosmtpd) that accepts every message and records, per message, when it was accepted.

Usage: smtp_sink.py PORT OUT.jsonl
Each line of OUT: {"t": unix seconds when DATA ended (just before the 250 answer), "to": [...], "subject",
"message_id", "token": the first BENCHREPLY<n> in the decoded text parts, or null}. Runs until killed.
"""

import asyncio
import email
import email.policy
import json
import re
import sys
import time

from aiosmtpd.controller import Controller

TOKEN = re.compile(r"BENCHREPLY\d+")


class Recorder:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        t = time.time()
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        token = None
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                m = TOKEN.search(part.get_content())
                if m:
                    token = m.group(0)
                    break
        line = {
            "t": t,
            "to": envelope.rcpt_tos,
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "token": token,
        }
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "a", encoding="utf-8") as out:
        controller = Controller(Recorder(out), hostname="127.0.0.1", port=port, data_size_limit=64 * 1024 * 1024)
        controller.start()
        print(f"smtp sink on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        try:
            asyncio.run(asyncio.Event().wait())
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
