"""Verifies a partnerdesk escalation webhook (exit 0 if valid; the secret comes from the environment, not argv):
PARTNERDESK_WEBHOOK_SECRET=... python3 webhook-verify.py SIGNATURE TIMESTAMP DELIVERY < BODY"""
import hashlib, hmac, os, sys, time


def verify(secret: str, body: bytes, signature: str, timestamp: str, delivery: str, tolerance: int = 300) -> bool:
    """The X-Partnerdesk-Signature, -Timestamp and -Delivery headers, and the raw request body, byte for byte."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old (or from the future): a replay
    signed = f"{timestamp}.{delivery}.".encode() + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


if __name__ == "__main__":
    secret = os.environ["PARTNERDESK_WEBHOOK_SECRET"]
    sys.exit(0 if verify(secret, sys.stdin.buffer.read(), *sys.argv[1:4]) else 1)
