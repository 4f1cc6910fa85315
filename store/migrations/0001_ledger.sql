-- The ledger: incidents and their append-only, hash-chained events.
CREATE TABLE incidents (
  n           INTEGER PRIMARY KEY,    -- compact row number, referenced by events
  id          TEXT NOT NULL UNIQUE,   -- hex sha256 of the canonical declaration
  book        TEXT NOT NULL,
  title       TEXT NOT NULL,
  kind        TEXT NOT NULL,          -- incident | routine
  drill       INTEGER NOT NULL,       -- 1 for a drill
  declared_at INTEGER NOT NULL,       -- unix ms, UTC
  declared_by TEXT NOT NULL
) STRICT;

CREATE TABLE events (
  incident    INTEGER NOT NULL REFERENCES incidents(n), -- the hash covers incidents.id
  seq         INTEGER NOT NULL,       -- 1, 2, 3 ... per incident, no gaps
  time        INTEGER NOT NULL,       -- unix ms, UTC
  actor       TEXT NOT NULL,
  type        TEXT NOT NULL,
  payload     TEXT NOT NULL,          -- JSON, hashed byte for byte
  prev_hash   BLOB NOT NULL,          -- 32 bytes; zeros for seq 1
  hash        BLOB NOT NULL,          -- 32 bytes; see README "The hash chain"
  idem_key    TEXT NOT NULL UNIQUE,   -- idempotency key of the append
  PRIMARY KEY (incident, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX events_by_type ON events (incident, type, seq);

-- Evidence bytes, addressed by their sha256; also append-only.
CREATE TABLE blobs (
  sha256 BLOB PRIMARY KEY,
  data   BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- Append-only: no UPDATE, no DELETE, ever.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ic ledger: events are append-only (UPDATE refused)'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ic ledger: events are append-only (DELETE refused)'); END;
CREATE TRIGGER incidents_no_update BEFORE UPDATE ON incidents
BEGIN SELECT RAISE(ABORT, 'ic ledger: incidents are append-only (UPDATE refused)'); END;
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
BEGIN SELECT RAISE(ABORT, 'ic ledger: incidents are append-only (DELETE refused)'); END;
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
BEGIN SELECT RAISE(ABORT, 'ic ledger: evidence is append-only (UPDATE refused)'); END;
CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs
BEGIN SELECT RAISE(ABORT, 'ic ledger: evidence is append-only (DELETE refused)'); END;

-- Only the next seq with the previous event's hash is admitted. Without
-- this, INSERT OR REPLACE would silently replace an existing row.
CREATE TRIGGER events_chain BEFORE INSERT ON events
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: seq must be the next in its incident')
   WHERE NEW.seq <> COALESCE((SELECT MAX(seq) FROM events WHERE incident = NEW.incident), 0) + 1;
  SELECT RAISE(ABORT, 'ic ledger: prev_hash must be the hash of the previous event')
   WHERE NEW.prev_hash IS NOT COALESCE(
     (SELECT hash FROM events WHERE incident = NEW.incident AND seq = NEW.seq - 1),
     zeroblob(32));
END;
