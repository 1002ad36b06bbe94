-- Report tables: per-day sums that period reports read instead of the event history. Every
-- row is a sum of what individual deals and leads contribute (see core::rollup); the store
-- keeps them in step in the same transaction as each change, and can rebuild them.
-- Days are calendar days in the team's time zone, as day numbers since 1970-01-01.
-- Empty text ('') stands for "none" in key columns.

-- Items entering the funnel by cohort day (the day the lead, or the deal without a lead,
-- was created) and what became of them.
CREATE TABLE report_inflow (
    pipeline_id  TEXT NOT NULL,
    day          BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    source       TEXT NOT NULL,
    campaign     TEXT NOT NULL,
    entered      BIGINT NOT NULL,
    qualified    BIGINT NOT NULL,
    won          BIGINT NOT NULL,
    won_value    BIGINT NOT NULL,
    won_cycle_ms BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, kind, owner_id, source, campaign)
) WITHOUT ROWID;

-- First stage entries by entry day, and how many of them progressed, in three cuts: by
-- owner (the common filter), by source and campaign, and by all of them.
CREATE TABLE report_funnel_owner (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    stage_id    TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    progressed  BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, stage_id, owner_id)
) WITHOUT ROWID;

CREATE TABLE report_funnel_source (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    stage_id    TEXT NOT NULL,
    source      TEXT NOT NULL,
    campaign    TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    progressed  BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, stage_id, source, campaign)
) WITHOUT ROWID;

CREATE TABLE report_funnel_full (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    stage_id    TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    source      TEXT NOT NULL,
    campaign    TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    progressed  BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, stage_id, owner_id, source, campaign)
) WITHOUT ROWID;

-- Closed deals by close day and owner at the close.
CREATE TABLE report_closed (
    pipeline_id TEXT NOT NULL,
    day         BIGINT NOT NULL,
    owner_id    TEXT NOT NULL,
    won         BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    cycle_ms    BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, day, owner_id, won)
) WITHOUT ROWID;

-- Completed stays in a stage: the month they ended, whole days spent, how they ended.
CREATE TABLE report_stays (
    pipeline_id TEXT NOT NULL,
    month       BIGINT NOT NULL,
    stage_id    TEXT NOT NULL,
    days        BIGINT NOT NULL,
    exit        TEXT NOT NULL,
    to_stage    TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, month, stage_id, days, exit, to_stage)
) WITHOUT ROWID;
