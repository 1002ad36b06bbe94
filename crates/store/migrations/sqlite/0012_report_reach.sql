-- Deals by the furthest stage they reached and how they stand now (won, lost, open): the
-- observed win rate from each stage for the calibration table.
CREATE TABLE report_reach (
    pipeline_id TEXT NOT NULL,
    stage_id    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id, outcome)
) WITHOUT ROWID;
