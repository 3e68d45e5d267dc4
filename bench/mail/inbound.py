"""Waits until partnerdesk has handled N messages from the mailbox and says how fast, and how much memory it took.

Usage: inbound.py BASE SERVER_PID N START_UNIX_TIME TIMEOUT_S
Polls /metrics (partnerdesk_mail_received_total summed over outcomes, repeats included) every 0.2 s; the time runs
from START (just before the server was started) to the poll that first sees N. Fails when nothing moves for 60 s.
Prints one JSON line: seconds, per_second, outcomes, first_at (when the first message was counted), the server's
VmHWM after 10 % of the messages and at the end, and its VmRSS at the end (KiB).
"""

import json
import sys
import time

from common import metrics, received, rss_kib


def main():
    base, pid, n, start, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    first_at, hwm_tenth, last, moved = None, None, -1, time.time()
    while True:
        try:
            got = received(metrics(base))
        except OSError:
            got = {}
        now = time.time()
        done = sum(got.values())
        if done and first_at is None:
            first_at = now - start
        if done >= n // 10 and hwm_tenth is None:
            hwm_tenth = rss_kib(pid)[1]
        if done != last:
            last, moved = done, now
        if done >= n:
            break
        if now - moved > 60 or now - start > timeout:
            print(json.dumps({"error": f"stalled at {done} of {n} messages", "outcomes": got}))
            sys.exit(1)
        time.sleep(0.2)
    seconds = now - start
    rss, hwm = rss_kib(pid)
    print(json.dumps({"seconds": round(seconds, 2), "per_second": round(done / seconds, 1), "outcomes": got,
                      "first_at": round(first_at, 2), "hwm_tenth_kib": hwm_tenth, "hwm_kib": hwm, "rss_kib": rss}))


if __name__ == "__main__":
    main()
