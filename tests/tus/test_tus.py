"""partnerdesk's tus 1.0 large-file uploader (/api/v2/large_uploads/) driven by tuspy, unmodified, from PyPI."""

import hashlib
import time
from pathlib import Path

import pytest
import requests
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

MiB = 1024 * 1024
CHUNK = 4 * MiB
# Request lines and headers of the PATCHes on top of the file bytes, generously.
HEADER_ALLOWANCE = 16 * 1024


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def uploader(server, token: str, path: Path, ticket_id: int, **kw):
    client = TusClient(server.tus_url, headers=server.auth(token))
    return client.uploader(
        file_path=str(path),
        metadata={"filename": path.name, "ticket_id": str(ticket_id)},
        **kw,
    )


def assert_attached(server, token: str, ticket_id: int, path: Path, tmp_path: Path) -> None:
    """The whole file is an attachment of the ticket: same size, same sha256, and it downloads byte for byte."""
    expected = sha256_of(path)
    att = server.last_attachment(token, ticket_id)
    assert att["file_name"] == path.name
    assert att["size"] == path.stat().st_size
    assert att["sha256"] == expected
    dest = tmp_path / "downloaded.bin"
    server.download(token, att["content_url"], dest)
    assert dest.stat().st_size == path.stat().st_size
    assert sha256_of(dest) == expected


def settled_offset(server, token: str, url: str) -> int:
    """The server's offset once the interrupted PATCH has been recorded (it is finished in a task of its own)."""
    last = server.server_offset(token, url)
    deadline = time.time() + 5
    while time.time() < deadline:
        time.sleep(0.2)
        now = server.server_offset(token, url)
        if now == last:
            return now
        last = now
    return last


def cut_mid_chunk(server, up, chunk_index: int) -> None:
    """Lets the upload run and cuts its connection halfway through chunk `chunk_index` (0-based)."""
    # The POST plus each PATCH's headers are well under HEADER_ALLOWANCE, far less than half a chunk.
    server.proxy.cut_after(chunk_index * CHUNK + CHUNK // 2)
    with pytest.raises(TusUploadFailed):
        up.upload()
    assert up.url, "the upload was created before the cut"
    assert server.proxy.cut_at is None, "the proxy cut the connection"


def test_plain_upload(server, pat, big_file, tmp_path):
    ticket = server.create_ticket(pat)
    up = uploader(server, pat, big_file, ticket)
    up.upload()
    size = big_file.stat().st_size
    assert up.offset == size
    assert up.url.startswith(server.tus_url)
    assert server.server_offset(pat, up.url) == size
    assert_attached(server, pat, ticket, big_file, tmp_path)


def test_chunked_upload_with_sha1_checksums(server, pat, big_file, tmp_path):
    ticket = server.create_ticket(pat)
    server.proxy.reset_count()
    up = uploader(server, pat, big_file, ticket, chunk_size=CHUNK, upload_checksum=True)
    up.upload()
    size = big_file.stat().st_size
    assert up.offset == size
    assert size <= server.proxy.sent <= size + HEADER_ALLOWANCE
    assert_attached(server, pat, ticket, big_file, tmp_path)


def test_resume_after_stopping_between_chunks(server, pat, big_file, tmp_path):
    ticket = server.create_ticket(pat)
    first = uploader(server, pat, big_file, ticket, chunk_size=CHUNK)
    first.upload(stop_at=2 * CHUNK)
    assert server.server_offset(pat, first.url) == 2 * CHUNK

    server.proxy.reset_count()
    resumed = uploader(server, pat, big_file, ticket, chunk_size=CHUNK, url=first.url)
    assert resumed.offset == 2 * CHUNK, "the resumed uploader asked the server where to go on"
    resumed.upload()
    rest = big_file.stat().st_size - 2 * CHUNK
    assert rest <= server.proxy.sent <= rest + HEADER_ALLOWANCE, "only the rest of the file was sent again"
    assert_attached(server, pat, ticket, big_file, tmp_path)


@pytest.mark.parametrize("checksum", [False, True], ids=["plain", "sha1"])
def test_resume_after_connection_cut_mid_chunk(server, pat, big_file, tmp_path, checksum):
    ticket = server.create_ticket(pat)
    first = uploader(server, pat, big_file, ticket, chunk_size=CHUNK, upload_checksum=checksum)
    cut_mid_chunk(server, first, 2)
    offset = settled_offset(server, pat, first.url)
    if checksum:
        # A chunk whose checksum could not be verified does not count (tus checksum extension).
        assert offset == 2 * CHUNK
    else:
        # The two whole chunks, and the bytes of the third that arrived before the cut are kept.
        assert 2 * CHUNK < offset < 3 * CHUNK

    server.proxy.reset_count()
    resumed = uploader(server, pat, big_file, ticket, chunk_size=CHUNK, url=first.url, upload_checksum=checksum)
    assert resumed.offset == offset
    resumed.upload()
    rest = big_file.stat().st_size - offset
    assert rest <= server.proxy.sent <= rest + HEADER_ALLOWANCE, "the second run did not start from 0"
    assert_attached(server, pat, ticket, big_file, tmp_path)


def test_resume_after_server_restart(server, pat, big_file, tmp_path):
    ticket = server.create_ticket(pat)
    first = uploader(server, pat, big_file, ticket, chunk_size=CHUNK)
    cut_mid_chunk(server, first, 1)
    offset = settled_offset(server, pat, first.url)
    assert offset > CHUNK

    server.restart()
    assert server.server_offset(pat, first.url) == offset, "the upload's state survived the restart"

    server.proxy.reset_count()
    resumed = uploader(server, pat, big_file, ticket, chunk_size=CHUNK, url=first.url)
    assert resumed.offset == offset
    resumed.upload()
    rest = big_file.stat().st_size - offset
    assert rest <= server.proxy.sent <= rest + HEADER_ALLOWANCE
    assert_attached(server, pat, ticket, big_file, tmp_path)


def test_other_organizations_ticket_is_refused(server, pat, sid, big_file):
    globex_ticket = server.create_ticket(sid, "Globex's own ticket")
    up = uploader(server, pat, big_file, globex_ticket, chunk_size=CHUNK)
    with pytest.raises(TusCommunicationError) as err:
        up.upload()
    assert err.value.status_code == 404
    assert up.url is None


def test_other_organization_cannot_continue_or_read_an_upload(server, pat, sid, big_file, tmp_path):
    ticket = server.create_ticket(pat)
    first = uploader(server, pat, big_file, ticket, chunk_size=CHUNK)
    first.upload(stop_at=CHUNK)

    with pytest.raises(TusCommunicationError) as err:
        uploader(server, sid, big_file, ticket, chunk_size=CHUNK, url=first.url)
    assert err.value.status_code == 404
    with open(big_file, "rb") as f:
        f.seek(CHUNK)
        r = requests.patch(
            first.url,
            data=f.read(CHUNK),
            headers={
                **server.auth(sid),
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(CHUNK),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=30,
        )
    assert r.status_code == 404
    assert server.server_offset(pat, first.url) == CHUNK

    uploader(server, pat, big_file, ticket, chunk_size=CHUNK, url=first.url).upload()
    assert_attached(server, pat, ticket, big_file, tmp_path)
