"""Outbound: an agent's public replies through the API → the notice accepted by the SMTP server.

Usage: outbound.py BASE AGENT_EMAIL AGENT_TOKEN SEED.json SINK.jsonl N PER_SECOND
Sends N `PUT /api/v2/tickets/{id}.json` with a public comment, one per ticket (tickets filed by partners, so the
notice goes to the partner who is the requester), started at a steady PER_SECOND from a pool of threads so that a
slow answer does not hold back the next; records when each answer arrived. Each body carries a token
(BENCHREPLY<n>) that the SMTP sink finds in the notice's text. Waits up to 60 s for every notice, then prints one
JSON line: latencies from the API's answer to the SMTP server's acceptance (p50/p99/max, ms), the API's own
answer times, and how many notices arrived.
"""

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from common import basic_token, call


def pct(sorted_values, p):
    return sorted_values[round((len(sorted_values) - 1) * p)]


def main():
    base, agent, token, seed_path, sink_path, n, rate = sys.argv[1:8]
    n, rate = int(n), float(rate)
    with open(seed_path, encoding="utf-8") as f:
        tickets = json.load(f)["tickets"]
    if len(tickets) < n:
        sys.exit(f"only {len(tickets)} tickets for {n} replies")
    auth = basic_token(agent, token)
    answered, errors, api_ms = {}, [], []
    lock = threading.Lock()
    t0 = time.time() + 0.5

    def reply(i):
        delay = t0 + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        ticket = tickets[i]
        key = f"BENCHREPLY{i:05d}"
        body = {"ticket": {"comment": {"public": True, "body": f"{key}\n\nThanks for the details. We reproduced the "
                                       "problem on 4.2 and a fix is scheduled; a workaround: lower the batch size "
                                       "to 5,000 records."}}}
        sent = time.time()
        status, got = call(base, "PUT", f"/api/v2/tickets/{ticket['id']}.json", auth, body)
        done = time.time()
        with lock:
            if status == 200:
                answered[key] = done
                api_ms.append((done - sent) * 1000)
            else:
                errors.append((status, str(got)[:200]))

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(reply, range(n)))
    sending = time.time() - t0
    arrived = {}
    deadline = time.time() + 60
    with open(sink_path, encoding="utf-8") as sink:
        while len(arrived) < len(answered) and time.time() < deadline:
            line = sink.readline()
            if not line:
                time.sleep(0.1)
                continue
            rec = json.loads(line)
            if rec.get("token") in answered:
                arrived[rec["token"]] = rec["t"]
    lat = sorted((arrived[k] - answered[k]) * 1000 for k in arrived)
    api_ms.sort()
    out = {"replies": n, "answered": len(answered), "errors": errors[:5], "error_count": len(errors),
           "notices": len(arrived), "seconds_sending": round(sending, 1)}
    if lat:
        out.update({"p50_ms": round(pct(lat, 0.5), 1), "p99_ms": round(pct(lat, 0.99), 1), "max_ms": round(lat[-1], 1),
                    "min_ms": round(lat[0], 1)})
    if api_ms:
        out.update({"api_p50_ms": round(pct(api_ms, 0.5), 1), "api_p99_ms": round(pct(api_ms, 0.99), 1)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
