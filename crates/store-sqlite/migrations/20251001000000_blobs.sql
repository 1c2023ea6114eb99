-- Small blobs (raw messages, attachments) kept inside the database: one fewer file and fsync
-- per message on the embedded default; larger blobs stay files (see TieredBlobStore).
CREATE TABLE blobs (
    key  TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
