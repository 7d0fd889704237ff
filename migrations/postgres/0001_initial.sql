-- The store of record on PostgreSQL: one row per record, and the change log every node replays.
-- `json`, not `jsonb`: records come back byte for byte as written, keys in their order.
CREATE TABLE records (
    kind text NOT NULL,
    key text NOT NULL,
    record json NOT NULL,
    -- Bumped by every write of the row; the UPDATE checks it, so no write is ever lost.
    row_version bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, key)
);

-- Written in the same transaction as the record. Writes take one advisory lock, so seqs commit
-- in order and a reader that has seen seq n has seen every change up to n.
CREATE TABLE changes (
    seq bigserial PRIMARY KEY,
    at text NOT NULL,
    op text NOT NULL CHECK (op IN ('put', 'delete')),
    kind text NOT NULL,
    key text NOT NULL,
    record json
);
-- A record's value at an earlier seq (a node starting from indexes saved at that seq).
CREATE INDEX changes_by_record ON changes (kind, key, seq);

-- The snapshot schema version the records are at (the migrations/mNNNN_*.py steps), and the
-- store's id (naming the index files nodes save for it).
CREATE TABLE store_meta (
    name text PRIMARY KEY,
    value json NOT NULL
);
