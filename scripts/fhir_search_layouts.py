# Compares the FHIR search index as one table (fhir_search) with typed tables made from it
# by scripts/fhir_search_typed_tables.sql (run with: sqlite3 DB < scripts/fhir_search_typed_tables.sql,
# which writes /tmp/typed.sqlite), on the same statements and patients. Usage: python3 scripts/fhir_search_layouts.py
# (the database at /tmp/fhir10.sqlite, made by socle seed fhir --copies 10).
import sqlite3, time, random, statistics
db = sqlite3.connect('file:/tmp/fhir10.sqlite?mode=ro', uri=True)
db.execute("ATTACH 'file:/tmp/typed.sqlite?mode=ro' AS t")
db.execute("PRAGMA cache_size=-65536"); db.execute("PRAGMA mmap_size=268435456")
patients = [r[0][len('Patient/'):] for r in db.execute("SELECT object_id FROM fhir_search WHERE resource_type='Patient' AND code='_id'")]
random.seed(3)
Q = {
 'patient heart rates sorted': (
  """SELECT * FROM (SELECT id, CASE WHEN e0 IS NULL THEN 1 ELSE 0 END AS n0, COALESCE(e0,0) AS v0 FROM (SELECT DISTINCT o.object_id AS id, (SELECT MAX(s.hi) FROM fhir_search s WHERE s.object_id=o.object_id AND s.code='date') AS e0 FROM fhir_search o WHERE o.resource_type='Observation' AND o.code='subject' AND o.val=:p AND (o.sys='Patient' OR o.sys IS NULL) AND EXISTS (SELECT 1 FROM fhir_search s WHERE s.object_id=o.object_id AND s.code='code' AND s.val='8867-4' AND s.sys='http://loinc.org')) matched) sorted ORDER BY n0, v0 DESC, id LIMIT 21""",
  """SELECT r.object_id, n0, v0 FROM (SELECT rid, CASE WHEN e0 IS NULL THEN 1 ELSE 0 END n0, COALESCE(e0,0) v0 FROM (SELECT DISTINCT o.rid, (SELECT MAX(d.hi) FROM t.dat d WHERE d.rid=o.rid AND d.code='date') e0 FROM t.ref o WHERE o.type='Observation' AND o.code='subject' AND o.tid=:p AND (o.ttype='Patient' OR o.ttype IS NULL) AND EXISTS (SELECT 1 FROM t.tok s WHERE s.rid=o.rid AND s.code='code' AND s.val='8867-4' AND s.sys='http://loinc.org')) m) x JOIN t.res r ON r.rid = x.rid ORDER BY n0, v0 DESC, x.rid LIMIT 21"""),
 'count by code': (
  "SELECT COUNT(*) FROM (SELECT DISTINCT o.object_id FROM fhir_search o WHERE o.resource_type='Observation' AND o.code='code' AND o.val='8867-4' AND o.sys='http://loinc.org')",
  "SELECT COUNT(*) FROM (SELECT DISTINCT rid FROM t.tok WHERE type='Observation' AND code='code' AND val='8867-4' AND sys='http://loinc.org')"),
 'count of a year': (
  "SELECT COUNT(*) FROM (SELECT DISTINCT o.object_id FROM fhir_search o WHERE o.resource_type='Observation' AND o.code='date' AND o.kind='date' AND o.hi >= 1546300800000000 AND (o.hi > 1546387199999999 OR (o.lo >= 1546300800000000 AND o.hi <= 1546387199999999)) AND ((o.lo < 1577836800000000) OR (o.vals > 1 AND EXISTS (SELECT 1 FROM fhir_search s WHERE s.object_id=o.object_id AND s.code='date' AND s.kind='date' AND s.lo < 1577836800000000))))",
  "SELECT COUNT(*) FROM (SELECT DISTINCT o.rid FROM t.dat o WHERE o.type='Observation' AND o.code='date' AND o.hi >= 1546300800000000 AND (o.hi > 1546387199999999 OR (o.lo >= 1546300800000000 AND o.hi <= 1546387199999999)) AND ((o.lo < 1577836800000000) OR (o.vals > 1 AND EXISTS (SELECT 1 FROM t.dat s WHERE s.rid=o.rid AND s.code='date' AND s.lo < 1577836800000000))))"),
 'chain by identifier': (
  "SELECT DISTINCT o.object_id FROM fhir_search o WHERE o.resource_type='Observation' AND o.code='subject' AND o.kind='reference' AND o.sys='Patient' AND o.val IN (SELECT substr(t.object_id, 9) FROM fhir_search t WHERE t.resource_type='Patient' AND t.code='identifier' AND t.val=:p AND t.sys='https://github.com/synthetichealth/synthea') AND EXISTS (SELECT 1 FROM fhir_search s WHERE s.object_id=o.object_id AND s.code='code' AND s.val='8867-4' AND s.sys='http://loinc.org') ORDER BY o.object_id LIMIT 21",
  "SELECT r.object_id FROM (SELECT DISTINCT o.rid FROM t.ref o WHERE o.type='Observation' AND o.code='subject' AND o.ttype='Patient' AND o.tid IN (SELECT substr(p.object_id, 9) FROM t.tok k JOIN t.res p ON p.rid = k.rid WHERE k.type='Patient' AND k.code='identifier' AND k.val=:p AND k.sys='https://github.com/synthetichealth/synthea') AND EXISTS (SELECT 1 FROM t.tok s WHERE s.rid=o.rid AND s.code='code' AND s.val='8867-4' AND s.sys='http://loinc.org')) x JOIN t.res r ON r.rid = x.rid ORDER BY r.object_id LIMIT 21"),
}
def run(sql, runs=40):
    random.seed(runs)
    times=[]; n=None; total=0
    for i in range(runs):
        p = random.choice(patients)
        s=time.perf_counter(); rows=db.execute(sql, {'p': p}).fetchall(); times.append(time.perf_counter()-s); total += len(rows) if len(rows) != 1 else rows[0][0] if isinstance(rows[0][0], int) else 1
    times.sort()
    return times[len(times)//2]*1000, times[int(len(times)*0.99)]*1000, total
for name,(a,b) in Q.items():
    run(a,3); run(b,3)
    ra=run(a); rb=run(b)
    print(f"{name:32s} one table p50 {ra[0]:8.2f} ms p99 {ra[1]:8.2f} ({ra[2]} results in all) | typed p50 {rb[0]:8.2f} ms p99 {rb[1]:8.2f} ({rb[2]} results in all)")
s = time.perf_counter(); db.execute("SELECT 1").fetchall(); print("SELECT 1", (time.perf_counter()-s)*1000)
