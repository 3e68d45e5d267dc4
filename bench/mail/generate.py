"""Writes N realistic support e-mails as .eml files for the e-mail benchmark, and prints what partnerdesk should
make of them.

Usage: generate.py SEED.json N OUT_DIR [RANDOM_SEED]
SEED.json is seed.py's output (the partners and the tickets they filed). Writes OUT_DIR/00000.eml ... in delivery
order and prints one JSON line: the expected count per outcome of `partnerdesk_mail_received_total` and the sizes.

The mix (of N):
- about 40 % new tickets from partners, about 57 % replies to their organization's tickets (`[#ID]` in the
  subject; most also carry In-Reply-To/References to the ticket's thread as a reply to a notice would; 70 % from the
  ticket's requester, the rest from a colleague, whose reply is mailed to the requester);
- 1 % from unknown senders (refused; each answered once), 1 % auto-replies (`Auto-Submitted: auto-replied`,
  ignored), 0.3 % naming a ticket that does not exist (refused), 0.5 % the same message delivered twice (repeat);
- bodies: plain UTF-8 (7/8 bit and quoted-printable), multipart/alternative (text quoted-printable, HTML base64),
  other charsets (ISO-8859-1/-2, windows-1252, KOI8-R, Shift_JIS, ISO-2022-JP, GB2312) with encoded-word subjects,
  HTML only, and a few with a small attachment (multipart/mixed, base64); replies quote the history the way Gmail,
  Outlook and Thunderbird do, with signatures; headers as a receiving server leaves them (Received, DKIM-Signature,
  Authentication-Results).
No sender gets more than 25 messages (partnerdesk ignores a sender's 31st message in an hour).
"""

import base64
import datetime
import json
import os
import quopri
import random
import sys
from email.header import Header
from email.utils import format_datetime

MAX_PER_SENDER = 25
OUR = "support@vendor.example"
OUR_NAME = "Partner Support"
DOMAIN = "vendor.example"

SENTENCES = [
    "Since the upgrade to 4.2 our nightly sync stops after roughly 10,000 records.",
    "The connector log shows HTTP 429 responses even though we stay well under the documented limit.",
    "We re-ran the certification suite this morning and step 7 still times out after 30 seconds.",
    "Customers in the EU region are affected; the US tenant works as before.",
    "Could you confirm whether the bulk endpoint is supposed to return the X-RateLimit headers?",
    "We rotated the OAuth client secret last week, which may or may not be related.",
    "Attached are the request IDs from our side, in case that helps you find them in your logs.",
    "The issue started on Monday around 14:00 UTC and has happened every run since.",
    "Our QA team can reproduce it reliably with the sandbox tenant.",
    "Is there a workaround we can give our customers until a fix is released?",
    "We need this resolved before our joint webinar on the 15th, so any update is appreciated.",
    "I tried clearing the cache and re-authorising the app, without any change.",
    "The marketplace listing still shows last year's screenshots and pricing.",
    "Please let me know if you need a HAR file or access to our staging environment.",
    "The webhook payloads arrive, but some of them are delayed by several minutes.",
    "We see duplicate rows when paging through the export API with page[size]=100.",
]
REPLIES = [
    "Thanks, that fixed it for the US tenant. The EU one still fails, see the new log below.",
    "We applied the workaround and the sync completed overnight. Keeping an eye on it.",
    "Here are the request IDs you asked for: 7f3c-91aa, 7f3c-91ab and 7f3c-91c0.",
    "Unfortunately the problem came back after the restart this morning.",
    "Yes, we are on 4.2.1 since Tuesday. The HAR file is attached to our internal ticket 4471.",
    "Could you escalate this? Two of our largest customers are blocked.",
    "Confirmed: with the new token scope the 401 errors are gone.",
    "Quick follow-up: is there an ETA for the fix?",
    "That makes sense, thank you for the explanation. You can close this one.",
    "We tested on the sandbox and it works; we will roll it out to production on Friday.",
]
LOG = [
    "2026-12-01T14:02:11Z ERROR sync: batch 101 failed: 429 Too Many Requests (retry-after: 30)",
    "2026-12-01T14:02:41Z WARN  sync: retrying batch 101 (attempt 2)",
    "2026-12-01T14:03:12Z ERROR sync: batch 101 failed: 429 Too Many Requests (retry-after: 30)",
    "2026-12-01T14:03:12Z INFO  sync: stopping after 10000 records",
]
# Text in other languages and the charsets their mail clients still use.
FOREIGN = [
    ("iso-8859-1", "quoted-printable", "Synchronisation schlägt fehl",
     "Grüße aus München! Seit dem Update schlägt die Synchronisation nach 10.000 Datensätzen fehl. "
     "Könnten Sie bitte prüfen, ob das Größenlimit geändert wurde?"),
    ("iso-8859-1", "quoted-printable", "Problème de connexion SAML",
     "Bonjour, depuis la mise à jour la connexion SAML revient à la page d'accueil. "
     "Nous avons vérifié le certificat, il est à jour. Merci d'avance, l'équipe intégration."),
    ("windows-1252", "quoted-printable", "Webhook “delay” – urgent",
     "Hi team – the webhooks are delayed by “several minutes” again… Could you check? Thanks, Zoë"),
    ("iso-8859-2", "quoted-printable", "Błąd eksportu danych",
     "Dzień dobry, eksport danych zwraca zduplikowane wiersze na trzeciej stronie. Proszę o pomoc."),
    ("koi8-r", "base64", "Ошибка синхронизации",
     "Здравствуйте! После обновления синхронизация останавливается после 10 000 записей. Помогите, пожалуйста."),
    ("shift_jis", "base64", "同期エラーについて",
     "お世話になっております。アップデート後、同期が一万件で停止します。ご確認をお願いいたします。"),
    ("iso-2022-jp", "7bit", "認証エラー",
     "いつもお世話になっております。トークン更新時に401エラーが発生します。よろしくお願いいたします。"),
    ("gb2312", "base64", "数据导出问题",
     "您好，导出接口在第三页返回重复的数据行。请帮忙检查一下，谢谢。"),
]
MAILERS = [
    "Microsoft Outlook 16.0", "Apple Mail (2.3774)", "Mozilla Thunderbird 128.4.2", None, None,
]


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def qp(raw_bytes):
    return quopri.encodestring(raw_bytes.replace(b"\r\n", b"\n")).decode("ascii").replace("\n", "\r\n")


def b64(raw_bytes):
    return base64.encodebytes(raw_bytes).decode("ascii").replace("\n", "\r\n")


def enc_header(text, charset="utf-8"):
    if all(ord(c) < 128 for c in text):
        return text
    return Header(text, charset).encode(maxlinelen=76)


def address(name, addr):
    if all(ord(c) < 128 for c in name):
        if any(c in name for c in ",.'\""):
            name = '"' + name.replace('"', "") + '"'
        return f"{name} <{addr}>"
    return f"{Header(name, 'utf-8').encode()} <{addr}>"


class Generator:
    def __init__(self, seed_data, rng):
        self.rng = rng
        self.partners = seed_data["partners"]
        self.tickets = seed_data["tickets"]
        self.by_email = {p["email"]: p for p in self.partners}
        self.sent = {p["email"]: 0 for p in self.partners}
        self.when = datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.timezone.utc)
        self.n = 0

    # -- senders ----------------------------------------------------------------------------------------------
    def partner_with_room(self, prefer=None):
        if prefer is not None and self.sent[prefer["email"]] < MAX_PER_SENDER:
            p = prefer
        else:
            for _ in range(10000):
                p = self.rng.choice(self.partners)
                if self.sent[p["email"]] < MAX_PER_SENDER:
                    break
            else:
                raise SystemExit("not enough partners for this many messages (25 each at most)")
        self.sent[p["email"]] += 1
        return p

    # -- headers -----------------------------------------------------------------------------------------------
    def headers(self, from_name, from_addr, subject, charset="utf-8", extra=()):
        self.n += 1
        self.when += datetime.timedelta(seconds=self.rng.randint(1, 9))
        domain = from_addr.rsplit("@", 1)[1]
        style = self.rng.random()
        token = "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(20))
        if style < 0.35:
            mid = f"<AM6PR04MB{token}@eurprd04.prod.outlook.com>"
        elif style < 0.7:
            mid = f"<CAF+{token.lower()}=q{self.n}@mail.gmail.com>"
        else:
            mid = f"<{token.lower()}.{self.n}@{domain}>"
        tz = datetime.timezone(datetime.timedelta(hours=self.rng.choice([-8, -5, 0, 1, 2, 9])))
        date = format_datetime(self.when.astimezone(tz))
        h = [
            f"Return-Path: <{from_addr}>",
            f"Delivered-To: {OUR}",
            f"Received: from mx.{DOMAIN} (mx.{DOMAIN} [192.0.2.25])\r\n\tby imap.{DOMAIN} (Postfix) with ESMTPS id "
            f"4Z{token[:8]}\r\n\tfor <{OUR}>; {date}",
            f"Received: from mail-{self.n % 7}.{domain} (mail-{self.n % 7}.{domain} [198.51.100.{self.n % 250}])\r\n"
            f"\tby mx.{DOMAIN} (Postfix) with ESMTPS id 4Y{token[8:16]}\r\n\tfor <{OUR}>; {date}",
            f"Authentication-Results: mx.{DOMAIN}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain};"
            f"\r\n\tdmarc=pass (p=none) header.from={domain}",
        ]
        if self.rng.random() < 0.5:
            sig = b64(bytes(self.rng.getrandbits(8) for _ in range(180))).replace("\r\n", "")
            h.append(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s2026;\r\n"
                     f"\th=from:to:subject:date:message-id:mime-version; bh={sig[:44]};\r\n"
                     f"\tb={sig[44:120]}\r\n\t {sig[120:]}")
        h += [
            f"From: {address(from_name, from_addr)}",
            f"To: {OUR_NAME} <{OUR}>",
            f"Subject: {enc_header(subject, charset)}",
            f"Date: {date}",
            f"Message-ID: {mid}",
            "MIME-Version: 1.0",
        ]
        mailer = self.rng.choice(MAILERS)
        if mailer:
            h.append(f"X-Mailer: {mailer}")
        h += list(extra)
        return "\r\n".join(h) + "\r\n"

    # -- bodies ------------------------------------------------------------------------------------------------
    def paragraphs(self, k, pool):
        return "\n\n".join(" ".join(self.rng.sample(pool, self.rng.randint(1, 3))) for _ in range(k))

    def signature(self, p):
        return f"-- \n{p['name']}\nIntegrations Engineer, Acme Integrations\n+1 555 0{self.rng.randint(100, 999)}"

    def new_text(self, p):
        body = f"Hello {OUR_NAME},\n\n{self.paragraphs(self.rng.randint(1, 4), SENTENCES)}\n"
        if self.rng.random() < 0.3:
            body += "\nFrom our log:\n\n" + "\n".join(LOG) + "\n"
        return body + f"\nBest regards,\n{p['name'].split(' ')[0]}\n\n{self.signature(p)}\n"

    def reply_text(self, p, ticket):
        new = self.paragraphs(self.rng.randint(1, 2), REPLIES)
        tid = ticket["id"]
        quoted = [
            "##- Please type your reply above this line -##", "",
            f"Jordan (Partner Support) replied to your ticket #{tid}.", "",
            "Could you send us the request IDs of the failed calls and the connector version?", "",
            "Status: open", f"View the ticket: https://support.{DOMAIN}/portal/tickets/{tid}",
        ]
        style = self.rng.random()
        if style < 0.45:  # Gmail
            head = f"On Mon, 7 Dec 2026 at 09:{self.rng.randint(10, 59)}, {OUR_NAME} <{OUR}> wrote:"
            history = head + "\n" + "\n".join("> " + q if q else ">" for q in quoted)
        elif style < 0.8:  # Outlook
            history = ("________________________________\nFrom: " + f"{OUR_NAME} <{OUR}>\nSent: Monday, December 7,"
                       f" 2026 9:14 AM\nTo: {p['name']} <{p['email']}>\nSubject: [#{tid}] {ticket['subject']}\n\n"
                       + "\n".join(quoted))
        else:  # Thunderbird, signature first
            history = (self.signature(p) + f"\n\nOn 07.12.26 09:14, {OUR_NAME} wrote:\n"
                       + "\n".join("> " + q for q in quoted))
            return f"{new}\n\n{history}\n"
        return f"{new}\n\n{p['name'].split(' ')[0]}\n\n{history}\n"

    def html_of(self, text):
        esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        paras = "".join(f'<p class="MsoNormal" style="margin:0cm;font-size:11pt;font-family:Calibri,sans-serif">'
                        f"{line or '&nbsp;'}<o:p></o:p></p>\n" for line in esc.split("\n"))
        style = ("<style><!--\n@font-face {font-family:\"Cambria Math\"; panose-1:2 4 5 3 5 4 6 3 2 4;}\n"
                 "p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; font-size:11.0pt; font-family:\"Calibri\","
                 "sans-serif;}\na:link, span.MsoHyperlink {mso-style-priority:99; color:#0563C1;}\n"
                 ".MsoChpDefault {mso-style-type:export-only;}\n--></style>\n") * 3
        return (f"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n{style}</head>"
                f"<body lang=\"EN-US\" link=\"#0563C1\"><div class=\"WordSection1\">\n{paras}</div></body></html>\n")

    def attachment(self, boundary):
        kind = self.rng.random()
        size = self.rng.randint(1024, 16 * 1024)
        if kind < 0.5:
            name, ctype, data = "sync.log", "text/plain", ("\n".join(LOG) + "\n").encode() * (size // 300 + 1)
        elif kind < 0.8:
            name, ctype = "screenshot.png", "image/png"
            data = b"\x89PNG\r\n\x1a\n" + bytes(self.rng.getrandbits(8) for _ in range(size))
        else:
            name, ctype = "request-ids.csv.gz", "application/gzip"
            data = b"\x1f\x8b\x08\x00" + bytes(self.rng.getrandbits(8) for _ in range(size))
        return (f"--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
                f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{b64(data)}")

    def body(self, text, charset_choice):
        """The MIME part(s) for `text`; returns (header lines, body)."""
        r = charset_choice
        b = f"----=_Part_{self.n}_{self.rng.getrandbits(32)}"
        if r < 0.37:
            raw = text.encode()
            cte = "7bit" if raw.isascii() else "8bit"
            return (f"Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: {cte}\r\n",
                    crlf(text))
        if r < 0.52:
            return ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                    qp(crlf(text).encode()))
        if r < 0.82 or r >= 0.97:
            alt = (f"--{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: "
                   f"quoted-printable\r\n\r\n{qp(crlf(text).encode())}\r\n"
                   f"--{b}\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   f"{b64(self.html_of(text).encode())}--{b}--\r\n")
            if r < 0.82:
                return f"Content-Type: multipart/alternative;\r\n\tboundary=\"{b}\"\r\n", alt
            # Outlook with an attachment: multipart/mixed around multipart/alternative.
            outer = b + "_mixed"
            return (f"Content-Type: multipart/mixed;\r\n\tboundary=\"{outer}\"\r\n",
                    f"This is a multi-part message in MIME format.\r\n\r\n--{outer}\r\n"
                    f"Content-Type: multipart/alternative;\r\n\tboundary=\"{b}\"\r\n\r\n{alt}\r\n"
                    f"{self.attachment(outer)}--{outer}--\r\n")
        if r < 0.92:
            raise AssertionError("foreign charsets are written by foreign_body")
        if r < 0.95:
            return ("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                    qp(crlf(self.html_of(text)).encode()))
        return (f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n",
                f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
                f"\r\n\r\n{qp(crlf(text).encode())}\r\n{self.attachment(b)}--{b}--\r\n")

    def foreign_body(self, text, charset, cte):
        raw = crlf(text).encode(charset)
        if cte == "quoted-printable":
            data = qp(raw)
        elif cte == "base64":
            data = b64(raw)
        else:
            data = raw.decode("ascii")
        return f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n", data

    def message(self, head, mime_head, body):
        return (head + mime_head + "\r\n" + body).encode("utf-8", "surrogateescape")

    # -- kinds of message --------------------------------------------------------------------------------------
    def new_ticket(self):
        p = self.partner_with_room()
        r = self.rng.random()
        if 0.82 <= r < 0.92:
            charset, cte, subject, words = self.rng.choice(FOREIGN)
            text = f"{words}\n\n{p['name']}\n"
            try:
                text.encode(charset)
            except UnicodeEncodeError:  # a name this charset cannot write
                text = f"{words}\n\nAcme Integrations\n"
            return self.message(self.headers(p["name"], p["email"], subject, charset), *self.foreign_body(text, charset, cte))
        subject = self.rng.choice(SENTENCES).rstrip(".?")[:70]
        return self.message(self.headers(p["name"], p["email"], subject), *self.body(self.new_text(p), r))

    def reply(self):
        ticket = self.rng.choice(self.tickets)
        requester = self.by_email[ticket["requester"]]
        p = self.partner_with_room(requester if self.rng.random() < 0.7 else None)
        subject = f"Re: [#{ticket['id']}] {ticket['subject']}"
        extra = []
        if self.rng.random() < 0.7:
            root = f"<ticket-{ticket['id']}@{DOMAIN}>"
            notice = f"<notice-t{ticket['id']}-c{self.rng.randint(1, 99999)}-u{requester['id']}@{DOMAIN}>"
            extra = [f"In-Reply-To: {notice}", f"References: {root}\r\n {notice}"]
        r = self.rng.random()
        if 0.82 <= r < 0.92:
            charset, cte, _, words = self.rng.choice(FOREIGN)
            text = f"{words}\n\n> {OUR_NAME} wrote:\n> Could you send us the request IDs?\n"
            head = self.headers(p["name"], p["email"], subject, charset, extra)
            return self.message(head, *self.foreign_body(text, charset, cte))
        head = self.headers(p["name"], p["email"], subject, "utf-8", extra)
        return self.message(head, *self.body(self.reply_text(p, ticket), r))

    def unknown(self, i):
        name, addr = f"Visitor {i}", f"visitor{i}@{self.rng.choice(['gmail.example', 'competitor.example', 'isp.example'])}"
        subject = "Question about becoming a partner"
        text = "Hello,\n\nwe would like to integrate with your product. Who can we talk to?\n\nThanks\n"
        return self.message(self.headers(name, addr, subject), *self.body(text, 0.1))

    def auto_reply(self):
        ticket = self.rng.choice(self.tickets)
        p = self.partner_with_room(self.by_email[ticket["requester"]])
        subject = f"Automatic reply: [#{ticket['id']}] {ticket['subject']}"
        extra = ["Auto-Submitted: auto-replied", "X-Autoreply: yes", f"In-Reply-To: <ticket-{ticket['id']}@{DOMAIN}>"]
        text = f"I am out of the office until 14 December with limited access to e-mail.\n\n{p['name']}\n"
        return self.message(self.headers(p["name"], p["email"], subject, "utf-8", extra), *self.body(text, 0.1))

    def foreign_ticket(self, i):
        p = self.partner_with_room()
        subject = f"Re: [#{99_000_000 + i}] An old case"
        text = "Is there any news on this one?\n\n" + self.signature(p) + "\n"
        return self.message(self.headers(p["name"], p["email"], subject), *self.body(text, 0.1))


def main():
    seed_path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 12)
    with open(seed_path, encoding="utf-8") as f:
        gen = Generator(json.load(f), rng)
    n_repeat, n_unknown, n_auto, n_foreign = n * 5 // 1000, n // 100, n // 100, n * 3 // 1000
    n_new = (n - n_repeat - n_unknown - n_auto - n_foreign) * 41 // 100
    n_reply = n - n_repeat - n_unknown - n_auto - n_foreign - n_new
    kinds = (["new"] * n_new + ["reply"] * n_reply + ["unknown"] * n_unknown + ["auto"] * n_auto
             + ["foreign"] * n_foreign)
    rng.shuffle(kinds)
    # Repeats: the same message delivered again, somewhere after the first delivery.
    for _ in range(n_repeat):
        kinds.insert(rng.randint(len(kinds) // 10, len(kinds)), "repeat")
    os.makedirs(out, exist_ok=True)
    made, total = [], 0
    for i, kind in enumerate(kinds):
        if kind == "repeat":
            raw = rng.choice(made)
        elif kind == "new":
            raw = gen.new_ticket()
        elif kind == "reply":
            raw = gen.reply()
        elif kind == "unknown":
            raw = gen.unknown(i)
        elif kind == "auto":
            raw = gen.auto_reply()
        else:
            raw = gen.foreign_ticket(i)
        if kind != "repeat":
            made.append(raw)
        total += len(raw)
        with open(os.path.join(out, f"{i:05d}.eml"), "wb") as f:
            f.write(raw)
    expected = {"ticket": n_new, "comment": n_reply, "refused": n_unknown + n_foreign, "ignored": n_auto,
                "repeat": n_repeat}
    print(json.dumps({"expected": expected, "messages": len(kinds), "bytes": total,
                      "max_per_sender": max(gen.sent.values())}))


if __name__ == "__main__":
    main()
