-- Each correspondent's thread of a ticket: the message ids so far (the ticket's root first, then the latest few),
-- so that the next notice to them answers the last message (In-Reply-To) and carries the chain (References), and
-- their mail client shows one conversation. A partner's reply by e-mail joins their thread.
CREATE TABLE mail_threads (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    chain TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
);
