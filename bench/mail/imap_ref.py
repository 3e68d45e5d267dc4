"""Reference for inbound: the IMAP work partnerdesk does per message, alone, against the same dovecot and a copy of
the same mailbox: fetch the whole message without marking it read (`UID FETCH n (BODY.PEEK[])`), then flag it
(`UID STORE n +FLAGS.SILENT (\\Seen)`), one message after the other, with Python's imaplib. No parsing, no database.

Usage: imap_ref.py PORT USER PASSWORD
Prints one JSON line: messages, seconds, per_second.
"""

import json
import sys
import time
import imaplib


def main():
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, password)
    imap.select("INBOX")
    start = time.time()
    status, data = imap.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    got = 0
    for uid in uids:
        status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        if status != "OK" or not data or not isinstance(data[0], tuple):
            sys.exit(f"imap_ref: fetching {uid!r} failed: {status} {data!r}")
        got += len(data[0][1])
        status, _ = imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Seen)")
        if status != "OK":
            sys.exit(f"imap_ref: flagging {uid!r} failed: {status}")
    seconds = time.time() - start
    imap.logout()
    print(json.dumps({"messages": len(uids), "bytes": got, "seconds": round(seconds, 2),
                      "per_second": round(len(uids) / seconds, 1)}))


if __name__ == "__main__":
    main()
