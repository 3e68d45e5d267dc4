"""Delivers .eml files into a dovecot user's maildir the way a local delivery agent does (a file per message in
new/, owned by the mail user), in file-name order, then opens the mailbox over IMAP once so that dovecot indexes
them before the benchmark starts, and checks that all are there.

Usage: deliver.py EML_DIR MAILDIR IMAP_PORT USER PASSWORD
"""

import imaplib
import os
import pwd
import shutil
import sys
import time


def main():
    src, maildir, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    owner = pwd.getpwnam("dovecot")
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        os.chown(os.path.join(maildir, sub), owner.pw_uid, owner.pw_gid)
    names = sorted(n for n in os.listdir(src) if n.endswith(".eml"))
    now = int(time.time())
    for i, name in enumerate(names):
        size = os.path.getsize(os.path.join(src, name))
        # Unique names as a delivery agent makes them; the benchmark's mix does not depend on the order read.
        target = os.path.join(maildir, "new", f"{now}.M{i:06d}P{os.getpid()}.bench,S={size}")
        shutil.copyfile(os.path.join(src, name), target)
        os.chown(target, owner.pw_uid, owner.pw_gid)
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, password)
    status, data = imap.select("INBOX")
    exists = int(data[0])
    imap.logout()
    if exists != len(names):
        sys.exit(f"deliver: the mailbox holds {exists} messages, expected {len(names)}")
    print(exists)


if __name__ == "__main__":
    main()
