"""Verifies a partnerdesk escalation webhook: python3 webhook-verify.py SECRET SIGNATURE < BODY (exit 0 if valid)."""
import hashlib, hmac, sys


def verify(secret: str, body: bytes, signature: str) -> bool:
    """`signature` is the X-Partnerdesk-Signature header; `body` the raw request body, byte for byte."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


if __name__ == "__main__":
    sys.exit(0 if verify(sys.argv[1], sys.stdin.buffer.read(), sys.argv[2]) else 1)
