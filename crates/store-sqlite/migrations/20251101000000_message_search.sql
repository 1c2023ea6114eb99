-- Full-text search of messages (`GET /v1/mailboxes/{id}/messages?q=…`).
--
-- message_search is an FTS5 index of each message's subject, text body, sender and recipients
-- (To and Cc: display names and addresses). It keeps no copy of the text (content = ''), only
-- the index, and its rows are deleted by rowid (contentless_delete, SQLite 3.43 or later; the
-- bundled SQLite is newer). Tokens are runs of letters and digits, case-folded, diacritics
-- kept (unicode61), so `alice@example.com` is indexed as the phrase `alice example com`.
-- The body is indexed up to its first 100,000 characters, the other fields up to 10,000 (the
-- limits of mailroom_store::search, shared with PostgreSQL).
--
-- An index row's rowid is a docid from message_search_ids: messages has no integer key, and
-- its implicit rowid may change on VACUUM.
--
-- Triggers keep the index in step with every write to messages, whatever its path: the
-- group commit, a single insert, a delete, and the cascades from a deleted thread, mailbox or
-- site (SQLite fires triggers for foreign-key actions).

CREATE TABLE message_search_ids (
    docid      INTEGER PRIMARY KEY,
    message_id BLOB NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE message_search USING fts5 (
    subject,
    body,
    sender,
    recipients,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- The existing messages, oldest first.
INSERT INTO message_search_ids (message_id) SELECT id FROM messages ORDER BY id;
INSERT INTO message_search (rowid, subject, body, sender, recipients)
SELECT s.docid,
       substr(m.subject, 1, 10000),
       substr(m.text_body, 1, 100000),
       substr((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(m.from_address) THEN m.from_address END) t
               WHERE t.key IN ('name', 'address') AND t.type = 'text'), 1, 10000),
       substr(coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(m.to_addresses) THEN m.to_addresses END) t
                        WHERE t.key IN ('name', 'address') AND t.type = 'text'), '')
              || ' ' ||
              coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(m.cc_addresses) THEN m.cc_addresses END) t
                        WHERE t.key IN ('name', 'address') AND t.type = 'text'), ''), 1, 10000)
FROM messages m JOIN message_search_ids s ON s.message_id = m.id;

CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search_ids (message_id) VALUES (new.id);
    INSERT INTO message_search (rowid, subject, body, sender, recipients)
    SELECT s.docid,
           substr(new.subject, 1, 10000),
           substr(new.text_body, 1, 100000),
           substr((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.from_address) THEN new.from_address END) t
                   WHERE t.key IN ('name', 'address') AND t.type = 'text'), 1, 10000),
           substr(coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.to_addresses) THEN new.to_addresses END) t
                            WHERE t.key IN ('name', 'address') AND t.type = 'text'), '')
                  || ' ' ||
                  coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.cc_addresses) THEN new.cc_addresses END) t
                            WHERE t.key IN ('name', 'address') AND t.type = 'text'), ''), 1, 10000)
    FROM message_search_ids s WHERE s.message_id = new.id;
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = (SELECT docid FROM message_search_ids WHERE message_id = old.id);
    DELETE FROM message_search_ids WHERE message_id = old.id;
END;

-- The store never changes these columns after the insert; raw edits stay searchable anyway.
CREATE TRIGGER message_search_update AFTER UPDATE OF id, subject, text_body, from_address, to_addresses, cc_addresses ON messages BEGIN
    UPDATE message_search_ids SET message_id = new.id WHERE message_id = old.id;
    DELETE FROM message_search WHERE rowid = (SELECT docid FROM message_search_ids WHERE message_id = new.id);
    INSERT INTO message_search (rowid, subject, body, sender, recipients)
    SELECT s.docid,
           substr(new.subject, 1, 10000),
           substr(new.text_body, 1, 100000),
           substr((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.from_address) THEN new.from_address END) t
                   WHERE t.key IN ('name', 'address') AND t.type = 'text'), 1, 10000),
           substr(coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.to_addresses) THEN new.to_addresses END) t
                            WHERE t.key IN ('name', 'address') AND t.type = 'text'), '')
                  || ' ' ||
                  coalesce((SELECT group_concat(t.atom, ' ') FROM json_tree(CASE WHEN json_valid(new.cc_addresses) THEN new.cc_addresses END) t
                            WHERE t.key IN ('name', 'address') AND t.type = 'text'), ''), 1, 10000)
    FROM message_search_ids s WHERE s.message_id = new.id;
END;
