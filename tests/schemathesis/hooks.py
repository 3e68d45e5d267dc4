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

# tus headers whose values are base64 inside a small grammar: `Upload-Metadata` names the file and the ticket,
# `Upload-Checksum` is an algorithm and a digest (which will not match the bytes: 460, as documented).
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# A file name names a file: not blank, not `.` or `..` (the server refuses those with 400).
_file_names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="/\\"), min_size=1, max_size=40
).filter(lambda name: name.strip() not in ("", ".", ".."))
_metadata = st.builds(
    lambda name, ticket, kind: f"filename {_b64(name.encode())},ticket_id {_b64(str(ticket).encode())}"
    + (f",filetype {_b64(kind.encode())}" if kind else ""),
    _file_names,
    st.integers(min_value=1, max_value=50),
    st.sampled_from(["", "text/plain", "application/octet-stream"]),
)
schemathesis.openapi.format("tus-upload-metadata", _metadata)
_checksum = st.one_of(
    st.binary(min_size=20, max_size=20).map(lambda d: f"sha1 {_b64(d)}"),
    st.binary(min_size=32, max_size=32).map(lambda d: f"sha256 {_b64(d)}"),
)
schemathesis.openapi.format("tus-upload-checksum", _checksum)

# Object keys in a partner's bucket: relative, no `.` or `..` segment, no control character, at most 1024 bytes.
_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)
_key = st.lists(_segment, min_size=1, max_size=4).map("/".join)
schemathesis.openapi.format("partnerdesk-object-key", _key)
