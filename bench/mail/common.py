"""Small helpers shared by the e-mail benchmark's scripts (standard library only)."""

import base64
import json
import urllib.error
import urllib.request


def call(base, method, path, auth, body=None, timeout=30):
    """One API call; `auth` is a ready Authorization header value. Returns (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def bearer(token):
    return "Bearer " + token


def basic_token(email, token):
    """Zendesk's API-token form of Basic auth: `email/token:TOKEN`."""
    return "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()


def metrics(base):
    """The /metrics text as {series-with-labels: value}."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def received(m):
    """partnerdesk_mail_received_total by outcome."""
    prefix = 'partnerdesk_mail_received_total{outcome="'
    return {k[len(prefix):-2]: int(v) for k, v in m.items() if k.startswith(prefix)}


def rss_kib(pid):
    """(VmRSS, VmHWM) of a process in KiB."""
    got = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                got[key] = int(rest.split()[0])
    return got.get("VmRSS", 0), got.get("VmHWM", 0)
