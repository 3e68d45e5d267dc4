"""Seeds a running partnerdesk for the e-mail benchmark through its API, as an admin would.

Usage: seed.py BASE ADMIN_TOKEN ORG_NAME PARTNERS TICKETS OUT.json
Creates PARTNERS active end-users (with a password, so an argon2 hash each) in the organization ORG_NAME, an API
token for each, and TICKETS tickets filed by the partners themselves (POST /api/v2/requests.json, so no notice is
mailed), round-robin over the partners. Writes {"org_id", "partners": [{id, email, name}], "tickets": [{id,
requester, subject}]} to OUT.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from common import bearer, call

FIRST = ["Pat", "Sam", "Alex", "Jo", "Kim", "Robin", "Chris", "Noor", "Mika", "Ana", "Lars", "Yuki", "Ines", "Omar",
         "Zoë", "Jürgen", "Françoise", "Søren", "Łukasz", "Kenji"]
LAST = ["Meyer", "Okafor", "Lindqvist", "Tanaka", "García", "Novak", "Dubois", "Rossi", "Schmidt", "Kowalski",
        "Nguyen", "Haddad", "Silva", "O'Brien", "Müller"]
SUBJECTS = [
    "Connector sync stops after 10k records",
    "OAuth token refresh fails with 401 since 4.2",
    "Webhook deliveries delayed by several minutes",
    "Certification test suite: step 7 times out",
    "Rate limit headers missing on bulk endpoint",
    "Marketplace listing still shows the old logo",
    "SAML login loops back to the sign-in page",
    "Export API returns duplicate rows on page 3",
    "Sandbox tenant cannot be reset",
    "Question about the co-selling agreement renewal",
]


def main():
    base, admin_token, org_name, n_partners, n_tickets, out = sys.argv[1:7]
    n_partners, n_tickets = int(n_partners), int(n_tickets)
    admin = bearer(admin_token)
    status, orgs = call(base, "GET", "/api/v2/organizations.json", admin)
    assert status == 200, (status, orgs)
    org_id = next(o["id"] for o in orgs["organizations"] if o["name"] == org_name)

    def make_partner(i):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        user = {"email": f"partner{i:04d}@acme.example", "name": name, "role": "end-user",
                "organization_id": org_id, "password": "a bench partner passphrase"}
        status, body = call(base, "POST", "/api/v2/users.json", admin, {"user": user}, timeout=120)
        assert status == 201, (status, body)
        uid = body["user"]["id"]
        status, body = call(base, "POST", f"/api/v2/users/{uid}/api_tokens.json", admin, {"api_token": {"description": "bench"}})
        assert status == 201, (status, body)
        return {"id": uid, "email": user["email"], "name": name, "token": body["api_token"]["token"]}

    # Each creation hashes a password (argon2id, 19 MiB): a few at a time, one or two per core.
    with ThreadPoolExecutor(4) as pool:
        partners = list(pool.map(make_partner, range(n_partners)))

    def file_ticket(i):
        p = partners[i % len(partners)]
        subject = f"{SUBJECTS[i % len(SUBJECTS)]} ({i})"
        body = {"request": {"subject": subject, "comment": {"body": "Filed from the partner's integration.\n\n"
                                                             "Steps to reproduce are in the attached notes."}}}
        status, got = call(base, "POST", "/api/v2/requests.json", bearer(p["token"]), body)
        assert status == 201, (status, got)
        return {"id": got["request"]["id"], "requester": p["email"], "subject": subject}

    with ThreadPoolExecutor(8) as pool:
        tickets = list(pool.map(file_ticket, range(n_tickets)))
    for p in partners:
        del p["token"]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"org_id": org_id, "partners": partners, "tickets": tickets}, f)
    print(f"seeded {len(partners)} partners and {len(tickets)} tickets", file=sys.stderr)


if __name__ == "__main__":
    main()
