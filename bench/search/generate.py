"""Generates the search benchmark's data (issue 13) straight into a migrated partnerdesk database: 200
organizations, 2,000 partner users (10 per organization), 20 agents, TICKETS tickets with 3 comments each (the
first is the description, public; the second public; the third an internal note for 40% of tickets), created over
the two years before NOW, ids in creation order. Deterministic (seeded), so both databases get the same rows.

Text: a vocabulary of 4,000 words (about 400 real support words among made-up product and customer words) drawn
with a Zipf distribution (the word of rank r with weight 1/r), so that the top words are in nearly every ticket,
words around rank 100 in about a tenth of them, and most in a few. A few phrases ("gateway timeout", ...) start
some subjects and descriptions.

Usage: generate.py sqlite DB_PATH TICKETS NOW OUT_JSON
       generate.py postgres DIR TICKETS NOW OUT_JSON     (writes DIR/*.tsv for COPY)
OUT_JSON receives the words the queries use, chosen by their document frequency (counted here, over all of a
ticket's text, which staff search).
"""
import bisect
import collections
import datetime as dt
import json
import os
import random
import sys

REAL = """the to and a of i is we it in for our on this not with you be are have please that can but from
after when an at was as they or all has error ticket customer issue account user users again still get now new
will do no if there since working work any see help could would us your update thanks need access page login
time today data some one when set up also just back by server api report invoice payment order email portal
sync integration partner license renewal setting settings problem failed failing fails timeout gateway password
reset certificate expired dashboard export import file files upload download report reports billing charge
charged refund plan subscription trial upgrade downgrade seat seats admin role roles permission permissions
token tokens webhook webhooks request requests response responses latency slow outage down unavailable
incident escalation priority urgent critical customer's production staging sandbox environment release version
bug crash crashes freeze hangs screen button click form field fields value values missing wrong duplicate
duplicates delay delayed scheduled schedule job jobs queue queued retry retries log logs message messages
notification notifications alert alerts mobile android iphone browser chrome firefox safari windows linux mac
network proxy firewall vpn dns domain domains ssl tls handshake connection connections refused reset database
backup restore migration migrated import exported csv pdf excel spreadsheet printer scanner device devices
install installed installation configure configured configuration setup onboarding training documentation docs
guide question questions answer contract quote pricing discount tax vat currency address shipping delivery
tracking warehouse inventory stock product products catalog search filter report analytics metrics chart graph
calendar meeting invite invitation sso saml oauth ldap directory group groups team teams member members owner
contact contacts phone call callback voicemail chat widget language translation locale timezone region region's
europe asia america support agent agents manager managers vendor vendors reseller resellers distributor
apology apologies urgently asap kindly regards hello hi dear team's yesterday tomorrow week weeks month
monthly annual yearly daily hourly minutes seconds hours morning evening weekend holiday overdue pending hold
solved closed reopened reopen resolved workaround fix fixed patch hotfix rollback deploy deployed deployment
outage's cluster node nodes memory cpu disk storage quota limit limits exceeded throttled throttling rate
blocked unblock locked unlock verify verified verification code codes otp mfa authenticator device's
""".split()

SYLLABLES = ("ka ri to mu ne sa lo vi de pa zu fe go hi jo ku le mo na po qui ra se ti vo wa xe ya zo bra cre"
             " dri fla glo pri stru tra ven mar tel dor bin cas fen gar").split()
PHRASES = ["gateway timeout", "password reset", "invoice missing", "sync failed", "certificate expired"]
TAGS = [("partner", 0.30), ("billing", 0.08), ("bug", 0.07), ("login", 0.06), ("api", 0.05), ("integration", 0.04),
        ("onboarding", 0.03), ("feature_request", 0.03), ("vip", 0.02), ("renewal", 0.02), ("outage", 0.01),
        ("security", 0.01)]
VOCAB_SIZE = 4000
ORGS, USERS_PER_ORG, AGENTS = 200, 10, 20


def vocabulary(rng):
    real = [w for w in dict.fromkeys(REAL) if w.isascii() and w.isalpha()]
    made, seen = [], set(real)
    while len(real) + len(made) < VOCAB_SIZE:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            made.append(w)
    # The first 60 real words (function words) lead; the other real words are spread among the made-up ones.
    head, rest = real[:60], real[60:] + made
    rng.shuffle(rest)
    return head + rest


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def main():
    backend, target, tickets, now, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    now = dt.datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ")
    rng = random.Random(13)
    vocab = vocabulary(rng)
    cum, total = [], 0.0
    for r in range(len(vocab)):
        total += 1.0 / (r + 1)
        cum.append(total)
    choices = rng.choices

    def words(lo, hi):
        return choices(vocab, cum_weights=cum, k=rng.randint(lo, hi))

    def sentence(lo, hi):
        ws = words(lo, hi)
        for i in range(9, len(ws), 10):
            ws[i] += "."
        return " ".join(ws)

    start = now - dt.timedelta(days=730)
    span = (now - start).total_seconds()
    created0 = ts(start - dt.timedelta(days=1))
    orgs = [(i, f"Partner {i:03d}", f"partner {i:03d}", created0, created0) for i in range(1, ORGS + 1)]
    users = []
    for o in range(1, ORGS + 1):
        for k in range(USERS_PER_ORG):
            uid = (o - 1) * USERS_PER_ORG + k + 1
            users.append((uid, f"user{uid}@partner{o:03d}.example", f"User {uid}", "end-user", o, "active", created0, created0))
    first_agent = ORGS * USERS_PER_ORG + 1
    for a in range(AGENTS):
        uid = first_agent + a
        users.append((uid, f"agent{a}@vendor.example", f"Agent {a}", "agent", None, "active", created0, created0))

    df = collections.Counter()
    status_old = ["closed"] * 55 + ["solved"] * 35 + ["open"] * 4 + ["pending"] * 3 + ["hold"] * 3
    status_new = ["new"] * 25 + ["open"] * 30 + ["pending"] * 20 + ["hold"] * 10 + ["solved"] * 15
    priorities = [None] * 20 + ["low"] * 20 + ["normal"] * 40 + ["high"] * 15 + ["urgent"] * 5

    def rows():
        cid = 0
        for i in range(1, tickets + 1):
            created = start + dt.timedelta(seconds=span * (i - 0.5) / tickets)
            age_days = (now - created).days
            status = rng.choice(status_old if age_days > 30 else status_new)
            updated = min(created + dt.timedelta(hours=rng.uniform(0, 240)), now)
            solved = ts(updated) if status in ("solved", "closed") else None
            org = rng.randint(1, ORGS)
            requester = (org - 1) * USERS_PER_ORG + rng.randint(1, USERS_PER_ORG)
            assignee = first_agent + rng.randrange(AGENTS) if rng.random() < 0.8 else None
            tags = " ".join(t for t, p in TAGS if rng.random() < p)
            subject = sentence(3, 8)
            description = sentence(20, 60)
            if rng.random() < 0.03:
                phrase = rng.choice(PHRASES)
                subject = phrase + " " + subject
                description = phrase + " " + description
            reply = sentence(10, 50)
            third = sentence(10, 50)
            internal = rng.random() < 0.4
            df.update(set((subject + " " + description + " " + reply + " " + third).replace(".", "").split()))
            t0 = created
            t1 = created + (updated - created) / 2
            cs = [(cid + 1, i, requester, description, True, "web", ts(t0)),
                  (cid + 2, i, first_agent + rng.randrange(AGENTS), reply, True, "web", ts(t1)),
                  (cid + 3, i, first_agent + rng.randrange(AGENTS) if internal else requester, third, not internal,
                   "web", ts(updated))]
            cid += 3
            ticket = (i, subject, description, status, rng.choice(priorities), requester, requester, org, None,
                      assignee, None, tags, rng.choice(("web", "email", "api")), "{}", ts(created), ts(updated), solved)
            yield ticket, cs

    tcols = ("id, subject, description, status, priority, requester_id, submitter_id, organization_id, group_id, "
             "assignee_id, ticket_form_id, tags, via, routing, created_at, updated_at, solved_at")
    ccols = "id, ticket_id, author_id, body, public, via, created_at"
    ocols = "id, name, name_key, created_at, updated_at"
    ucols = "id, email, name, role, organization_id, status, created_at, updated_at"
    if backend == "sqlite":
        try:
            import pysqlite3.dbapi2 as sqlite3
        except ImportError:
            import sqlite3
        db = sqlite3.connect(target, isolation_level=None)
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO organizations ({ocols}) VALUES (?,?,?,?,?)", orgs)
        db.executemany(f"INSERT INTO users ({ucols}) VALUES (?,?,?,?,?,?,?,?)", users)
        tb, cb = [], []
        for t, cs in rows():
            tb.append(t)
            cb.extend(cs)
            if len(tb) == 20000:
                db.executemany(f"INSERT INTO tickets ({tcols}) VALUES ({','.join('?' * 17)})", tb)
                db.executemany(f"INSERT INTO comments ({ccols}) VALUES (?,?,?,?,?,?,?)", cb)
                tb, cb = [], []
        if tb:
            db.executemany(f"INSERT INTO tickets ({tcols}) VALUES ({','.join('?' * 17)})", tb)
            db.executemany(f"INSERT INTO comments ({ccols}) VALUES (?,?,?,?,?,?,?)", cb)
        db.execute("COMMIT")
        db.close()
    else:
        os.makedirs(target, exist_ok=True)

        def cell(v):
            if v is None:
                return r"\N"
            if v is True or v is False:
                return "t" if v else "f"
            return str(v)

        def write(name, cols, data):
            with open(os.path.join(target, name + ".tsv"), "w") as f:
                for r in data:
                    f.write("\t".join(map(cell, r)) + "\n")
            with open(os.path.join(target, name + ".cols"), "w") as f:
                f.write(cols)

        write("organizations", ocols, orgs)
        write("users", ucols, users)
        with open(os.path.join(target, "tickets.tsv"), "w") as tf, open(os.path.join(target, "comments.tsv"), "w") as cf:
            for t, cs in rows():
                tf.write("\t".join(map(cell, t)) + "\n")
                for c in cs:
                    cf.write("\t".join(map(cell, c)) + "\n")
        for name, cols in (("tickets", tcols), ("comments", ccols)):
            with open(os.path.join(target, name + ".cols"), "w") as f:
                f.write(cols)

    # Query words: real words that are no other word's prefix (a word matches as a prefix), by document frequency.
    real = set(REAL)
    plain = [w for w in vocab if w in real and w.isalpha() and not any(v != w and v.startswith(w) for v in vocab)]

    def near(share, exclude=()):
        return min((w for w in plain if w not in exclude), key=lambda w: abs(df[w] - share * tickets))

    common = near(0.10)
    a = near(0.03, {common})
    b = near(0.015, {common, a})
    c = near(0.25, {common, a, b})
    d = near(0.08, {common, a, b, c})
    e = near(0.01, {common, a, b, c, d})
    json.dump({"common": common, "two": [a, b], "org_words": [c, d], "word": e, "phrase": PHRASES[0],
               "df": {w: df[w] for w in (common, a, b, c, d, e)}, "tickets": tickets, "now": ts(now)},
              open(out, "w"), indent=1)


main()
