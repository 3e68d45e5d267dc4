"""schemathesis hooks for partnerdesk (loaded through SCHEMATHESIS_HOOKS by run.sh).

The document marks `page[after]` with the format `partnerdesk-cursor`: an opaque cursor that this server issued
(`meta.after_cursor` of a previous page). A random string is rightly refused with 400, so valid test data for it are
cursors of the server's own form: base64url, without padding, of `id:N`.
"""

import base64

import schemathesis
from hypothesis import strategies as st


def _cursor(n: int) -> str:
    return base64.urlsafe_b64encode(f"id:{n}".encode()).decode().rstrip("=")


schemathesis.openapi.format("partnerdesk-cursor", st.integers(min_value=0, max_value=2**62).map(_cursor))

# tus bodies are raw bytes, like `application/octet-stream`.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
