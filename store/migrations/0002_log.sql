-- Schema 2: one append-only RFC 6962 Merkle log over every record in the
-- order written (incidents, events, evidence blobs, migration entries),
-- the identity behind each event, and signed checkpoints of the log.
-- README "The ledger" documents the leaf encodings and hash formulas.

ALTER TABLE incidents ADD COLUMN log_idx INTEGER;
ALTER TABLE events ADD COLUMN identity TEXT;   -- how the actor was established; NULL: a v1 event
ALTER TABLE events ADD COLUMN log_idx INTEGER;
ALTER TABLE blobs ADD COLUMN log_idx INTEGER;

-- Records written before the log existed enter it once, here: every
-- incident by row number, then every event in (incident, seq) order, then
-- every evidence blob by sha256, then the migration entry itself. The
-- guards are lifted for this one UPDATE of a new column and put back
-- word for word.
DROP TRIGGER incidents_no_update;
DROP TRIGGER events_no_update;
DROP TRIGGER blobs_no_update;
UPDATE incidents SET log_idx = o.r
  FROM (SELECT n, row_number() OVER (ORDER BY n) - 1 AS r FROM incidents) AS o
 WHERE incidents.n = o.n;
UPDATE events SET log_idx = o.r + (SELECT count(*) FROM incidents)
  FROM (SELECT incident, seq, row_number() OVER (ORDER BY incident, seq) - 1 AS r FROM events) AS o
 WHERE events.incident = o.incident AND events.seq = o.seq;
UPDATE blobs SET log_idx = o.r + (SELECT count(*) FROM incidents) + (SELECT count(*) FROM events)
  FROM (SELECT sha256, row_number() OVER (ORDER BY sha256) - 1 AS r FROM blobs) AS o
 WHERE blobs.sha256 = o.sha256;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ic ledger: events are append-only (UPDATE refused)'); END;
CREATE TRIGGER incidents_no_update BEFORE UPDATE ON incidents
BEGIN SELECT RAISE(ABORT, 'ic ledger: incidents are append-only (UPDATE refused)'); END;
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
BEGIN SELECT RAISE(ABORT, 'ic ledger: evidence is append-only (UPDATE refused)'); END;

-- The log's leaves: one row per record, idx 0, 1, 2 ... without gaps.
CREATE TABLE log (
  idx  INTEGER PRIMARY KEY,
  leaf BLOB NOT NULL          -- tag byte || the record's 32-byte hash
) STRICT;

-- Interior nodes of the tree at level 8 and above (perfect subtrees of 256
-- leaves and more), so that proofs cost O(log n) reads.
CREATE TABLE log_nodes (
  id   INTEGER PRIMARY KEY,   -- level << 56 | index
  hash BLOB NOT NULL
) STRICT;

-- The head of the log: its size and the compact range [0, size) (the
-- roots of the perfect subtrees, left to right), updated with each record.
CREATE TABLE log_head (
  one    INTEGER PRIMARY KEY CHECK (one = 1),
  origin TEXT NOT NULL,       -- the log's name in its checkpoints
  size   INTEGER NOT NULL,
  hashes BLOB NOT NULL
) STRICT;

-- Schema changes that entered records into the log.
CREATE TABLE log_migrations (
  log_idx INTEGER PRIMARY KEY,
  schema  INTEGER NOT NULL,
  time    INTEGER NOT NULL,   -- unix ms, UTC
  text    TEXT NOT NULL
) STRICT;

-- Signed checkpoints of the log (C2SP tlog-checkpoint signed notes).
CREATE TABLE checkpoints (
  n     INTEGER PRIMARY KEY,
  size  INTEGER NOT NULL,
  note  TEXT NOT NULL UNIQUE,
  added INTEGER NOT NULL      -- unix ms, UTC
) STRICT;

INSERT INTO log (idx, leaf) SELECT log_idx, CAST(x'02' || hash AS BLOB) FROM events;
INSERT INTO log (idx, leaf) SELECT log_idx, CAST(x'03' || sha256 AS BLOB) FROM blobs;

-- ic:go build-log

CREATE UNIQUE INDEX incidents_by_log ON incidents (log_idx);
CREATE UNIQUE INDEX events_by_log ON events (log_idx);
CREATE UNIQUE INDEX blobs_by_log ON blobs (log_idx);

-- The log grows by one leaf at a time and never shrinks.
CREATE TRIGGER log_next BEFORE INSERT ON log
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: a leaf must take the next log index')
   WHERE NEW.idx IS NOT (SELECT size FROM log_head);
END;
CREATE TRIGGER log_grow AFTER INSERT ON log
BEGIN UPDATE log_head SET size = size + 1; END;
CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN SELECT RAISE(ABORT, 'ic ledger: the log is append-only (UPDATE refused)'); END;
CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN SELECT RAISE(ABORT, 'ic ledger: the log is append-only (DELETE refused)'); END;
CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'ic ledger: the log is append-only (UPDATE refused)'); END;
CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'ic ledger: the log is append-only (DELETE refused)'); END;
CREATE TRIGGER log_head_forward BEFORE UPDATE ON log_head
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: the log head only moves forward')
   WHERE NEW.size < OLD.size OR NEW.origin IS NOT OLD.origin OR NEW.one IS NOT OLD.one;
END;
CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
BEGIN SELECT RAISE(ABORT, 'ic ledger: the log head cannot be deleted'); END;
CREATE TRIGGER log_migrations_no_update BEFORE UPDATE ON log_migrations
BEGIN SELECT RAISE(ABORT, 'ic ledger: migration entries are append-only (UPDATE refused)'); END;
CREATE TRIGGER log_migrations_no_delete BEFORE DELETE ON log_migrations
BEGIN SELECT RAISE(ABORT, 'ic ledger: migration entries are append-only (DELETE refused)'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'ic ledger: checkpoints are append-only (UPDATE refused)'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'ic ledger: checkpoints are append-only (DELETE refused)'); END;

-- Each record enters the log in its own transaction, as the newest leaf,
-- with its own tag (and, where SQL can see it, its own hash).
CREATE TRIGGER incidents_log BEFORE INSERT ON incidents
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: an incident must be the newest leaf of the log')
   WHERE NEW.log_idx IS NOT (SELECT size - 1 FROM log_head)
      OR (SELECT substr(leaf, 1, 1) FROM log WHERE idx = NEW.log_idx) IS NOT x'01';
END;
CREATE TRIGGER events_log BEFORE INSERT ON events
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: an event must be the newest leaf of the log, with its own hash')
   WHERE NEW.log_idx IS NOT (SELECT size - 1 FROM log_head)
      OR (SELECT leaf FROM log WHERE idx = NEW.log_idx) IS NOT CAST(x'02' || NEW.hash AS BLOB);
END;
CREATE TRIGGER blobs_log BEFORE INSERT ON blobs
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: evidence must be the newest leaf of the log, with its own sha256')
   WHERE NEW.log_idx IS NOT (SELECT size - 1 FROM log_head)
      OR (SELECT leaf FROM log WHERE idx = NEW.log_idx) IS NOT CAST(x'03' || NEW.sha256 AS BLOB);
END;
CREATE TRIGGER log_migrations_log BEFORE INSERT ON log_migrations
BEGIN
  SELECT RAISE(ABORT, 'ic ledger: a migration entry must be the newest leaf of the log')
   WHERE NEW.log_idx IS NOT (SELECT size - 1 FROM log_head)
      OR (SELECT substr(leaf, 1, 1) FROM log WHERE idx = NEW.log_idx) IS NOT x'04';
END;
