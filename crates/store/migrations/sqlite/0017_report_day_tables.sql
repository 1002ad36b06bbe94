-- report_inflow and report_closed summed over owners, sources and campaigns: a few rows a day
-- instead of hundreds. The flow and the forecast read them for whoever sees every deal,
-- without filters. Every change to the cut tables changes these by the same sums, in the same
-- statement batch (rollups::apply), and a rebuild recomputes both.
CREATE TABLE report_inflow_day (
    pipeline_id  TEXT NOT NULL,
    day          BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    entered      BIGINT NOT NULL,
    qualified    BIGINT NOT NULL,
    won          BIGINT NOT NULL,
    won_value    BIGINT NOT NULL,
    won_cycle_ms BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, kind)
) WITHOUT ROWID;
INSERT INTO report_inflow_day (pipeline_id, day, kind, entered, qualified, won, won_value, won_cycle_ms)
SELECT pipeline_id, day, kind, SUM(entered), SUM(qualified), SUM(won), SUM(won_value), SUM(won_cycle_ms)
FROM report_inflow GROUP BY pipeline_id, day, kind;

CREATE TABLE report_closed_day (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    won         BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    cycle_ms    BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, won)
) WITHOUT ROWID;
INSERT INTO report_closed_day (pipeline_id, day, won, count, value, cycle_ms)
SELECT pipeline_id, day, won, SUM(count), SUM(value), SUM(cycle_ms)
FROM report_closed GROUP BY pipeline_id, day, won;
