//! Incoming mail, parsed (`mail-parser`: MIME, transfer encodings, charsets) into what the rules look at: who sent
//! it, to whom, what it answers, whether a machine sent it, the words above the quoted history, and its files.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// The largest message read (the pipe and IMAP both stop there): attachments over the attachment limit are not kept
/// anyway, and the sender is told to use the uploader.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// One incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Without angle brackets; made up from the content when the message has none (so a repeat is still a repeat).
    pub message_id: String,
    /// The sender's address, lower case.
    pub from: String,
    pub from_name: String,
    /// Every address it was sent to (`To`, `Cc`, `Delivered-To`, `X-Original-To`), lower case.
    pub recipients: Vec<String>,
    /// The message ids it answers (`In-Reply-To`, then `References`), without angle brackets.
    pub answers: Vec<String>,
    pub subject: String,
    /// The new words: the text body above the quoted history and the signature.
    pub text: String,
    /// Sent by a machine: `Auto-Submitted` other than `no`, `Precedence: bulk/list/junk`, or a delivery report.
    pub automatic: Option<String>,
    /// A delivery status notification (a bounce): the addresses that failed.
    pub bounced: Vec<String>,
    /// `Authentication-Results` header values, for the DMARC/DKIM/SPF check.
    pub authentication_results: Vec<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

fn texts(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    }
}

fn strip_brackets(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_owned()
}

/// Parses `raw`; `None` when it is not a message at all (no headers).
pub fn parse(raw: &[u8]) -> Option<Inbound> {
    let msg = MessageParser::default().parse(raw)?;
    let from_addr = msg.from().and_then(|a| a.first());
    let from = from_addr
        .and_then(|a| a.address.as_deref())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let from_name = from_addr.and_then(|a| a.name.as_deref()).unwrap_or_default().to_owned();
    let mut recipients: Vec<String> = Vec::new();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        recipients.extend(
            list.iter()
                .filter_map(|a| a.address.as_deref())
                .map(str::to_ascii_lowercase),
        );
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for v in msg.header_values(name) {
            recipients.extend(texts(v).iter().map(|t| t.trim().to_ascii_lowercase()));
        }
    }
    recipients.dedup();
    let mut answers: Vec<String> = texts(msg.in_reply_to()).iter().map(|i| strip_brackets(i)).collect();
    answers.extend(texts(msg.references()).iter().rev().map(|i| strip_brackets(i)));
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let content_type = msg
        .content_type()
        .map(|c| format!("{}/{}", c.c_type, c.c_subtype.as_deref().unwrap_or_default()).to_ascii_lowercase())
        .unwrap_or_default();
    let report = content_type == "multipart/report";
    let automatic = match (header("Auto-Submitted"), header("Precedence")) {
        (Some(a), _) if a != "no" => Some(format!("Auto-Submitted: {a}")),
        (_, Some(p)) if matches!(p.as_str(), "bulk" | "list" | "junk" | "auto_reply") => {
            Some(format!("Precedence: {p}"))
        }
        _ if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() => Some("an auto-reply".to_owned()),
        _ if header("List-Id").is_some() => Some("a mailing list".to_owned()),
        _ if report => Some("a delivery report".to_owned()),
        _ if from.starts_with("mailer-daemon@") || from.starts_with("postmaster@") => Some(format!("sent by {from}")),
        _ => None,
    };
    let bounced = if report { failed_recipients(&msg) } else { Vec::new() };
    let body = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let attachments = msg
        .attachments()
        .filter(|p| !p.is_text() || p.attachment_name().is_some())
        .map(|p| Attachment {
            name: p.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: p
                .content_type()
                .map(|c| format!("{}/{}", c.c_type, c.c_subtype.as_deref().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: p.contents().to_vec(),
        })
        .collect();
    let subject = plain(msg.subject().unwrap_or_default().trim());
    let message_id = match msg.message_id() {
        Some(id) if !id.trim().is_empty() && id.len() <= MAX_ID_LEN && plain(id) == id => strip_brackets(id),
        Some(id) if !id.trim().is_empty() => made_up_id(id.as_bytes()),
        _ => made_up_id(raw),
    };
    // An address is at most 254 characters (RFC 5321); anything longer is no sender at all.
    let from = if from.len() > 254 || plain(&from) != from {
        String::new()
    } else {
        from
    };
    let from_name = plain(&from_name);
    let subject: String = subject.chars().take(255).collect();
    Some(Inbound {
        message_id,
        from,
        from_name,
        recipients,
        answers,
        subject,
        text: plain(&new_words(&body)),
        automatic,
        bounced,
        authentication_results: msg.header_values("Authentication-Results").flat_map(texts).collect(),
        attachments,
    })
}

/// `s` with control characters other than tab and line breaks replaced by U+FFFD: a message may carry any bytes,
/// but what is filed from it must be text that every page, API and database (PostgreSQL refuses NUL) accepts.
fn plain(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// A message without a `Message-ID` is named by a digest of its bytes: delivered twice, it is still one message.
fn made_up_id(raw: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256-{}@no-message-id", hex::encode(sha2::Sha256::digest(raw)))
}

/// The recipients a delivery report says failed (`Final-Recipient` of its `message/delivery-status` part).
fn failed_recipients(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for part in msg.parts.iter() {
        let is_status = part.content_type().is_some_and(|c| {
            c.c_subtype
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        });
        if !is_status {
            continue;
        }
        let text = String::from_utf8_lossy(part.contents());
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("final-recipient") {
                let addr = value.rsplit(';').next().unwrap_or_default().trim().to_ascii_lowercase();
                if addr.contains('@') && addr.len() <= 254 && !out.contains(&addr) {
                    out.push(addr);
                }
                if out.len() >= MAX_BOUNCED {
                    return out;
                }
            }
        }
    }
    out
}

/// The most of a body that is looked at.
const MAX_BODY_CHARS: usize = 256 * 1024;
/// The most failed recipients read from one delivery report.
const MAX_BOUNCED: usize = 10;
/// Longer message ids are kept as a digest (an index cannot hold a value of any length).
const MAX_ID_LEN: usize = 255;

/// The words above the quoted history: cut at our marker line, at "On ... wrote:", at Outlook's
/// "-----Original Message-----" or "From: ..." block, at a run of `>` lines, and at the signature separator.
pub fn new_words(body: &str) -> String {
    // A comment holds 64 KiB: more than four times that is never read (and bounds the work on a hostile body).
    let body = match body.char_indices().nth(MAX_BODY_CHARS) {
        Some((cut, _)) => &body[..cut],
        None => body,
    };
    let mut kept: Vec<&str> = Vec::new();
    let lines: Vec<&str> = body.lines().collect();
    // quoted_tail[i]: every line from i on is blank or quoted (one pass from the end, not one scan per line).
    let mut quoted_tail = vec![true; lines.len() + 1];
    for i in (0..lines.len()).rev() {
        let t = lines[i].trim();
        quoted_tail[i] = quoted_tail[i + 1] && (t.is_empty() || t.starts_with('>'));
    }
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let quoted_from_here = t.starts_with('>') && quoted_tail[i];
        if t.contains("Please type your reply above this line")
            || t == "-- "
            || line.trim_end() == "--"
            || t.eq_ignore_ascii_case("-----Original Message-----")
            || (t.starts_with("On ") && t.ends_with("wrote:"))
            // "On <date>, <name> <address>" wrapped before "wrote:".
            || (t.starts_with("On ") && lines.get(i + 1).is_some_and(|n| n.trim().ends_with("wrote:")))
            || (t.starts_with("Am ") && t.ends_with("schrieb:"))
            || (t.starts_with("Le ") && t.ends_with("a écrit :"))
            || (t.starts_with("From: ") && lines.get(i + 1).is_some_and(|n| n.trim_start().starts_with("Sent: ")))
            || (t.starts_with("________________________________") && t.len() >= 30)
            || quoted_from_here
        {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Outlook sends a reply: multipart/related around multipart/alternative (quoted-printable text and HTML),
    /// an inline image, a winmail.dat, and the quoted original under a "From: / Sent:" block.
    #[test]
    fn an_outlook_reply_keeps_its_words_and_files() {
        let raw = concat!(
            "From: Pat <pat@acme.example>\r\nTo: support@vendor.test\r\nSubject: RE: [#7] Sync\r\n",
            "Message-ID: <o1@acme.example>\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n",
            "--m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n",
            "--r\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n",
            "--a\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            "The fix works =96 thanks.\r\n\r\nFrom: Vendor Support <support@vendor.test>\r\n",
            "Sent: Tuesday, 1 December 2026 10:00\r\nSubject: [#7] Sync\r\n\r\nPlease try 4.2.1.\r\n",
            "--a\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n",
            "<p>The fix works &ndash; thanks.</p><img src=\"cid:logo@acme\">\r\n",
            "--a--\r\n",
            "--r\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-ID: <logo@acme>\r\n",
            "Content-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            "iVBORw0KGgo=\r\n--r--\r\n",
            "--m\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n",
            "Content-Disposition: attachment; filename=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            "eJ8+IgAB\r\n--m--\r\n",
        );
        let m = parse(raw.as_bytes()).expect("a message");
        assert_eq!(m.text, "The fix works \u{2013} thanks.");
        let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
        assert!(names.contains(&"logo.png"), "{names:?}");
        assert!(names.contains(&"winmail.dat"), "kept as a file: {names:?}");
    }

    #[test]
    fn east_asian_charsets_are_decoded() {
        let raw = b"From: pat@acme.example\r\nSubject: =?shift_jis?B?k/qWe4zq?=\r\nMessage-ID: <j@y>\r\n\
                    Content-Type: text/plain; charset=gb2312\r\n\r\n\xd6\xd0\xce\xc4\r\n";
        let m = parse(raw).expect("a message");
        assert_eq!(m.subject, "\u{65e5}\u{672c}\u{8a9e}");
        assert_eq!(m.text.trim(), "\u{4e2d}\u{6587}");
    }

    #[test]
    fn control_characters_become_replacement_characters() {
        let raw = b"From: a\x01b <pat@acme.example>\r\nSubject: =?utf-8?b?QQBC?=\r\nMessage-ID: <x@y>\r\n\r\nline\x00one\r\n\ttab\r\n";
        let m = parse(raw).expect("a message");
        assert_eq!(m.subject, "A\u{FFFD}B");
        assert!(m.text.contains("line\u{FFFD}one"), "{:?}", m.text);
        assert!(m.text.contains("\ttab"), "{:?}", m.text);
        assert!(!m.from_name.chars().any(|c| c.is_control()), "{:?}", m.from_name);
    }

    #[test]
    fn quoted_history_and_signatures_are_cut() {
        let gmail = "Thanks, that fixed it.\n\nOn Tue, 1 Dec 2026 at 10:00, Vendor Support <support@vendor.test> wrote:\n> Please try 4.2.1\n";
        assert_eq!(new_words(gmail), "Thanks, that fixed it.");
        let marker = "Here is the log.\n\n##- Please type your reply above this line -##\n\nVendor replied...";
        assert_eq!(new_words(marker), "Here is the log.");
        let outlook = "See attached.\n\n________________________________\nFrom: Vendor Support <support@vendor.test>\nSent: Tuesday\n";
        assert_eq!(new_words(outlook), "See attached.");
        let outlook2 = "Yes.\r\n\r\n-----Original Message-----\r\nFrom: x\r\n";
        assert_eq!(new_words(outlook2), "Yes.");
        let sig = "Works now.\n-- \nPat, Acme Integrations\n+1 555 0100";
        assert_eq!(new_words(sig), "Works now.");
        let inline = "> you asked\nmy answer\n> more\nlast words";
        assert_eq!(new_words(inline), inline, "interleaved answers are kept");
        let wrapped = "Done.\n\nOn Tue, 1 Dec 2026 at 10:00, Vendor Support <support@vendor.test>\nwrote:\n> x";
        assert_eq!(new_words(wrapped), "Done.");
    }

    #[test]
    fn parses_the_parts_rules_need() {
        let raw = concat!(
            "From: \"Pat Example\" <Pat@Acme.example>\r\n",
            "To: support+t5-abc@vendor.test\r\n",
            "Cc: boss@acme.example\r\n",
            "Subject: =?iso-8859-1?q?Re:_[#5]_Caf=E9_sync?=\r\n",
            "Message-ID: <m1@acme.example>\r\n",
            "In-Reply-To: <notice-t5-c9-u3@vendor.test>\r\n",
            "References: <ticket-5@vendor.test> <notice-t5-c9-u3@vendor.test>\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain; charset=iso-8859-1\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "Caf=E9 is back.\r\n",
            "\r\n",
            "On Tue, Vendor <support@vendor.test> wrote:\r\n",
            "> old\r\n",
            "--b\r\n",
            "Content-Type: application/octet-stream; name=\"log.txt.gz\"\r\n",
            "Content-Disposition: attachment; filename=\"log.txt.gz\"\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "AAECAw==\r\n",
            "--b--\r\n",
        );
        let m = parse(raw.as_bytes()).expect("parsed");
        assert_eq!(m.from, "pat@acme.example");
        assert_eq!(m.from_name, "Pat Example");
        assert_eq!(m.message_id, "m1@acme.example");
        assert_eq!(m.subject, "Re: [#5] Café sync");
        assert_eq!(m.text, "Café is back.");
        assert!(m.recipients.contains(&"support+t5-abc@vendor.test".to_owned()));
        assert!(m.recipients.contains(&"boss@acme.example".to_owned()));
        assert_eq!(
            m.answers.first().map(String::as_str),
            Some("notice-t5-c9-u3@vendor.test")
        );
        assert!(m.answers.contains(&"ticket-5@vendor.test".to_owned()));
        assert_eq!(m.automatic, None);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name, "log.txt.gz");
        assert_eq!(m.attachments[0].bytes, vec![0, 1, 2, 3]);
    }

    #[test]
    fn machines_are_recognised() {
        let auto = "From: a@b.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n";
        assert_eq!(
            parse(auto.as_bytes()).and_then(|m| m.automatic),
            Some("Auto-Submitted: auto-replied".into())
        );
        let human = "From: a@b.example\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nHello.\r\n";
        assert_eq!(parse(human.as_bytes()).and_then(|m| m.automatic), None);
        let list = "From: a@b.example\r\nPrecedence: bulk\r\nSubject: news\r\n\r\nx\r\n";
        assert!(parse(list.as_bytes()).and_then(|m| m.automatic).is_some());
        let no_id = "From: a@b.example\r\nSubject: x\r\n\r\ny\r\n";
        let (a, b) = (parse(no_id.as_bytes()), parse(no_id.as_bytes()));
        assert!(
            a.is_some() && a.map(|m| m.message_id) == b.map(|m| m.message_id),
            "a repeat has the same id"
        );
    }

    #[test]
    fn bounces_name_the_failed_address() {
        let dsn = concat!(
            "From: MAILER-DAEMON@vendor.test\r\n",
            "Subject: Undelivered Mail Returned to Sender\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n",
            "\r\n",
            "--r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n",
            "--r\r\nContent-Type: message/delivery-status\r\n\r\n",
            "Reporting-MTA: dns; vendor.test\r\n\r\nFinal-Recipient: rfc822; Gone@Acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n",
            "--r--\r\n",
        );
        let m = parse(dsn.as_bytes()).expect("parsed");
        assert!(m.automatic.is_some());
        assert_eq!(m.bounced, vec!["gone@acme.example".to_owned()]);
    }
}
