-- Full-text search of messages (`GET /v1/mailboxes/{id}/messages?q=…`).
--
-- messages.search is a tsvector of each message's subject, text body, sender and recipients
-- (To and Cc: display names and addresses), a stored generated column: PostgreSQL computes it
-- on every insert and update, adding it computes it for the existing rows, and a deleted row
-- takes it along. A GIN index answers `search @@ tsquery`.
--
-- The `simple` configuration (no stemming, no stop words) keeps addresses and words of any
-- language as they are, lower-cased. ASCII punctuation becomes spaces first, so tokens are
-- runs of letters and digits as in the SQLite store's unicode61 index (`alice@example.com` is
-- the phrase `alice example com`, not one email token) and both backends answer a query
-- alike. The body is indexed up to its first 100,000 characters and the other fields up to
-- 10,000 (the limits of mailroom_store::search): a tsvector must stay under 1 MiB.

-- The function refers to nothing outside pg_catalog, so it computes the same whatever the
-- search_path (a restore runs with an empty one).
CREATE FUNCTION message_search_document(subject TEXT, body TEXT, sender JSONB, to_addresses JSONB, cc_addresses JSONB)
RETURNS TSVECTOR
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT to_tsvector('simple'::regconfig, translate(
        left(coalesce(subject, ''), 10000) || ' ' ||
        left(coalesce(body, ''), 100000) || ' ' ||
        -- Display names and addresses: every value of the address object (or objects).
        left(coalesce((SELECT string_agg(v #>> '{}', ' ') FROM jsonb_path_query(sender, 'lax $[*].*') v), ''), 10000) || ' ' ||
        left(coalesce((SELECT string_agg(v #>> '{}', ' ')
                       FROM jsonb_path_query(coalesce(to_addresses, '[]') || coalesce(cc_addresses, '[]'), 'lax $[*].*') v), ''), 10000),
        '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
        '                                '))
$fn$;

ALTER TABLE messages ADD COLUMN search TSVECTOR
    GENERATED ALWAYS AS (message_search_document(subject, text_body, from_address, to_addresses, cc_addresses)) STORED;

CREATE INDEX messages_search ON messages USING GIN (search);
