"""Formats one backend's results of bench/mail.sh.

Usage: report.py row BACKEND DIR     (the Markdown table row)
       report.py notes BACKEND DIR   (what the mail became, against what was sent; warnings in the server's log)
"""

import json
import os
import re
import sys


def load(dir_, name):
    with open(os.path.join(dir_, name), encoding="utf-8") as f:
        return json.loads(f.read())


def parse_ref(dir_):
    with open(os.path.join(dir_, "parse.txt"), encoding="utf-8") as f:
        return dict(kv.split("=", 1) for kv in f.read().split())


def mib(kib):
    return f"{kib / 1024:.0f}" if kib else "?"


def row(backend, dir_):
    inb, out, ref = load(dir_, "inbound.json"), load(dir_, "outbound.json"), parse_ref(dir_)
    imap = load(dir_, "imap_ref.json")
    alone, crate = float(ref["mail_parser_per_s"]), float(ref["crate_parse_per_s"])
    cells = [backend, f"{inb['per_second']:.0f}", f"{alone:.0f}", f"{crate:.0f}", f"{inb['per_second'] / alone:.4f}",
             f"{imap['per_second']:.0f}", f"{inb['per_second'] / imap['per_second']:.2f}",
             f"{mib(inb['hwm_tenth_kib'])} / {mib(inb['hwm_kib'])} MiB",
             str(out.get("p50_ms", "-")), str(out.get("p99_ms", "-")), str(out.get("max_ms", "-"))]
    print("| " + " | ".join(cells) + " |")


def log_lines(dir_):
    found = {}
    for name in ("server-seed.log", "server.log"):
        path = os.path.join(dir_, name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if " WARN " in line or " ERROR " in line:
                    key = re.sub(r"^\S+\s+", "", re.sub(r"\x1b\[[0-9;]*m", "", line.strip()))
                    key = re.sub(r"\d+", "N", key)[:200]
                    found[key] = found.get(key, 0) + 1
    return found


def notes(backend, dir_):
    gen, inb, out, ref = load(dir_, "generated.json"), load(dir_, "inbound.json"), load(dir_, "outbound.json"), parse_ref(dir_)
    drain = load(dir_, "drain.json")
    expected, got = gen["expected"], inb["outcomes"]
    diff = {k: (expected.get(k, 0), got.get(k, 0)) for k in set(expected) | set(got) if expected.get(k, 0) != got.get(k, 0)}
    print(f"- {backend}: {gen['messages']} messages, {gen['bytes'] / 1e6:.1f} MB ({ref['unparsed']} not parsed by "
          f"inbound::parse); handled in {inb['seconds']} s, the first counted {inb['first_at']} s after start; "
          f"outcomes {json.dumps(got, sort_keys=True)}"
          + (f"; DIFFERENT from what was sent (expected, got): {diff}" if diff else " (as sent)"))
    print(f"  {drain['mail_sent_so_far']} e-mails sent before the replies (outbox pending then: "
          f"{drain['outbox_pending_before_replies']}); replies: {out['answered']}/{out['replies']} answered "
          f"({out['error_count']} errors{': ' + str(out['errors']) if out['errors'] else ''}), API p50 "
          f"{out.get('api_p50_ms')} ms p99 {out.get('api_p99_ms')} ms, {out['notices']} notices accepted by SMTP, "
          f"min latency {out.get('min_ms')} ms, sent over {out['seconds_sending']} s; VmRSS at the end "
          f"{mib(inb['rss_kib'])} MiB")
    logs = log_lines(dir_)
    if logs:
        print(f"  server log warnings/errors ({sum(logs.values())}):")
        for k, n in sorted(logs.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {n} x {k}")
    else:
        print("  server log: no warnings or errors")


if __name__ == "__main__":
    {"row": row, "notes": notes}[sys.argv[1]](sys.argv[2], sys.argv[3])
