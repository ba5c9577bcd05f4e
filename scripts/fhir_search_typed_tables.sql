-- Typed FHIR search index tables (a table per kind, keyed by an integer resource id), made
-- from an existing fhir_search table into /tmp/typed.sqlite, to compare layouts (scripts/fhir_search_layouts.py).
ATTACH '/tmp/typed.sqlite' AS t;
PRAGMA t.journal_mode=OFF;
PRAGMA t.synchronous=OFF;
CREATE TABLE t.res (rid INTEGER PRIMARY KEY, object_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL);
INSERT INTO t.res (object_id, type) SELECT object_id, resource_type FROM main.fhir_search WHERE code = '_id';
CREATE TEMP TABLE ids AS SELECT rid, object_id FROM t.res;
CREATE UNIQUE INDEX temp.ids_object ON ids (object_id);
CREATE TABLE t.tok (rid INTEGER NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL, sys TEXT, val TEXT, txt TEXT, vals INTEGER);
INSERT INTO t.tok SELECT i.rid, s.resource_type, s.code, s.sys, s.val, s.txt, s.vals FROM main.fhir_search s JOIN ids i ON i.object_id = s.object_id WHERE s.kind IN ('token', 'uri', 'string');
CREATE TABLE t.ref (rid INTEGER NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL, ttype TEXT, tid TEXT, url TEXT);
INSERT INTO t.ref SELECT i.rid, s.resource_type, s.code, s.sys, s.val, s.txt FROM main.fhir_search s JOIN ids i ON i.object_id = s.object_id WHERE s.kind = 'reference';
CREATE TABLE t.dat (rid INTEGER NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL, lo BIGINT, hi BIGINT, vals INTEGER);
INSERT INTO t.dat SELECT i.rid, s.resource_type, s.code, s.lo, s.hi, s.vals FROM main.fhir_search s JOIN ids i ON i.object_id = s.object_id WHERE s.kind = 'date';
CREATE INDEX t.tok_value ON tok (type, code, val);
CREATE INDEX t.tok_rid ON tok (rid, code);
CREATE INDEX t.ref_value ON ref (type, code, tid);
CREATE INDEX t.ref_rid ON ref (rid, code);
CREATE INDEX t.ref_back ON ref (tid, ttype);
CREATE INDEX t.dat_lo ON dat (type, code, lo, hi, vals, rid);
CREATE INDEX t.dat_hi ON dat (type, code, hi, lo, vals, rid);
CREATE INDEX t.dat_rid ON dat (rid, code);
ANALYZE t;
