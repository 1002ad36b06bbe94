#!/usr/bin/env python3
"""The funnel and flow aggregates of Throughline's reports, written as plain SQL in DuckDB over
the same data, for a baseline measured in the same run as ours.

Usage: duckdb_reports.py SQLITE_FILE PIPELINE_ID FROM_MS TO_MS FLOW_FROM_MS FLOW_TO_MS [RUNS]

The SQLite tables are exported to CSV with the sqlite3 command line (once per database file,
cached beside it) and loaded into an in-memory DuckDB; loading is not timed. Prints one JSON
object: the median time of each query and the figures it computed, so the caller can check that
both sides computed the same thing. Days and weeks are UTC (the benchmark's team time zone).
"""
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb

SCHEMAS = {
    "deals": "id VARCHAR, pipeline_id VARCHAR, lead_id VARCHAR, status VARCHAR, created_at BIGINT, "
    "cycle_started_at BIGINT, closed_at BIGINT, value BIGINT",
    "spans": "deal_id VARCHAR, pipeline_id VARCHAR, stage_id VARCHAR, valid_from BIGINT",
    "stages": "id VARCHAR, pipeline_id VARCHAR, position BIGINT",
    "leads": "id VARCHAR, created_at BIGINT, deal_id VARCHAR",
}

TABLES = {
    "deals": "SELECT id, pipeline_id, lead_id, status, created_at, cycle_started_at, closed_at, value FROM deals",
    "spans": "SELECT deal_id, pipeline_id, stage_id, valid_from FROM deal_spans WHERE entered = 1",
    "stages": "SELECT id, pipeline_id, position FROM stages WHERE archived = 0",
    "leads": "SELECT id, created_at, deal_id FROM leads",
}

FUNNEL = """
WITH e AS (
    SELECT s.deal_id, s.valid_from AS t, st.position AS pos
    FROM spans s JOIN stages st ON st.id = s.stage_id
    JOIN deals d ON d.id = s.deal_id AND d.pipeline_id = s.pipeline_id
    WHERE s.pipeline_id = $p
),
r AS (
    SELECT deal_id, t, pos,
           coalesce(max(pos) OVER (PARTITION BY deal_id ORDER BY t, pos
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prior
    FROM e
),
entered AS (
    SELECT r.deal_id, st.position AS stage_pos, min(r.t) AS first_at
    FROM r JOIN stages st ON st.pipeline_id = $p AND st.position > r.prior AND st.position <= r.pos
    GROUP BY r.deal_id, st.position
),
reach AS (SELECT deal_id, max(pos) AS top FROM e GROUP BY deal_id)
SELECT en.stage_pos,
       count(*) AS entered,
       count(*) FILTER (WHERE reach.top > en.stage_pos OR d.status = 'won') AS progressed
FROM entered en JOIN reach USING (deal_id) JOIN deals d ON d.id = en.deal_id
WHERE en.first_at >= $from AND en.first_at < $to
GROUP BY en.stage_pos ORDER BY en.stage_pos
"""

OUTCOMES = """
SELECT count(*) FILTER (WHERE status = 'won') AS won,
       count(*) FILTER (WHERE status = 'lost') AS lost,
       coalesce(sum(value) FILTER (WHERE status = 'won'), 0) AS won_value
FROM deals WHERE pipeline_id = $p AND status IN ('won', 'lost') AND closed_at >= $from AND closed_at < $to
"""

COHORT = """
SELECT (SELECT count(*) FROM leads l LEFT JOIN deals d ON d.id = l.deal_id
        WHERE l.created_at >= $from AND l.created_at < $to AND (l.deal_id IS NULL OR d.pipeline_id = $p))
     + (SELECT count(*) FROM deals WHERE pipeline_id = $p AND lead_id IS NULL AND created_at >= $from AND created_at < $to)
       AS entered,
       (SELECT count(*) FROM deals WHERE pipeline_id = $p AND status = 'won'
        AND cycle_started_at >= $from AND cycle_started_at < $to) AS entered_won
"""

INFLOW = """
SELECT date_trunc('week', make_timestamp(created_at * 1000)) AS week, count(*) AS items FROM (
    SELECT l.created_at FROM leads l LEFT JOIN deals d ON d.id = l.deal_id
    WHERE l.created_at >= $from AND l.created_at < $to AND (l.deal_id IS NULL OR d.pipeline_id = $p)
    UNION ALL
    SELECT created_at FROM deals WHERE pipeline_id = $p AND lead_id IS NULL AND created_at >= $from AND created_at < $to
) GROUP BY week ORDER BY week
"""

CLOSES = """
SELECT date_trunc('week', make_timestamp(closed_at * 1000)) AS week,
       count(*) FILTER (WHERE status = 'won') AS won,
       coalesce(sum(value) FILTER (WHERE status = 'won'), 0) AS won_value,
       count(*) FILTER (WHERE status = 'lost') AS lost
FROM deals WHERE pipeline_id = $p AND status IN ('won', 'lost') AND closed_at >= $from AND closed_at < $to
GROUP BY week ORDER BY week
"""


def export(sqlite_file):
    """CSV copies of the tables, next to the database, remade when the database changes."""
    stamp = str(int(os.path.getmtime(sqlite_file)))
    folder = f"{sqlite_file}.duckdb-csv"
    os.makedirs(folder, exist_ok=True)
    stamp_file = os.path.join(folder, "stamp")
    fresh = os.path.exists(stamp_file) and open(stamp_file).read() == stamp
    for name, query in TABLES.items():
        path = os.path.join(folder, f"{name}.csv")
        if fresh and os.path.exists(path):
            continue
        script = f".headers on\n.mode csv\n.output {path}\n{query};\n"
        subprocess.run(["sqlite3", sqlite_file], input=script, text=True, check=True)
    with open(stamp_file, "w") as f:
        f.write(stamp)
    return folder


def timed(con, sql, params, runs):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = con.execute(sql, params).fetchall()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), result


def main():
    sqlite_file, pipeline = sys.argv[1], sys.argv[2]
    f_from, f_to, w_from, w_to = (int(x) for x in sys.argv[3:7])
    runs = int(sys.argv[7]) if len(sys.argv) > 7 else 15
    folder = export(sqlite_file)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for name, schema in SCHEMAS.items():
        con.execute(f"CREATE TABLE {name} ({schema})")
        path = f"{folder}/{name}.csv"
        # sqlite3 writes no header for an empty result: an empty file is an empty table.
        if os.path.getsize(path) > 0:
            con.execute(f"COPY {name} FROM '{path}' (HEADER true, NULLSTR '')")
    funnel_params = {"p": pipeline, "from": f_from, "to": f_to}
    flow_params = {"p": pipeline, "from": w_from, "to": w_to}

    def funnel_all():
        return (
            con.execute(FUNNEL, funnel_params).fetchall(),
            con.execute(OUTCOMES, funnel_params).fetchall(),
            con.execute(COHORT, funnel_params).fetchall(),
        )

    def flow_all():
        return con.execute(INFLOW, flow_params).fetchall(), con.execute(CLOSES, flow_params).fetchall()

    out = {}
    for name, fn in (("funnel", funnel_all), ("flow", flow_all)):
        times, result = [], None
        for _ in range(runs):
            start = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - start) * 1000.0)
        out[name] = {"median_ms": statistics.median(times), "min_ms": min(times)}
        if name == "funnel":
            stages, outcomes, cohort = result
            out[name]["stages"] = [[int(p), int(e), int(g)] for p, e, g in stages]
            out[name]["won"], out[name]["lost"], out[name]["won_value"] = (int(x) for x in outcomes[0])
            out[name]["entered"], out[name]["entered_won"] = (int(x) for x in cohort[0])
        else:
            inflow, closes = result
            out[name]["inflow"] = [[w.isoformat()[:10], int(n)] for w, n in inflow]
            out[name]["won"] = [[w.isoformat()[:10], int(n), int(v)] for w, n, v, _ in closes]
    out["duckdb"] = duckdb.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
