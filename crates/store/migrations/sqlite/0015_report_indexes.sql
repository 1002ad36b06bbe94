-- Indexes for the reports at scale (a million deals, ten million events; see BENCHMARKS.md,
-- "Reports at a million deals").
--
-- The spans still open at an instant of the past (the backtest's starting point): those that
-- ended after it are found by valid_to, and valid_from is checked in the index itself instead
-- of reading every span that ended since.
DROP INDEX IF EXISTS deal_spans_to;
CREATE INDEX deal_spans_to ON deal_spans (pipeline_id, valid_to, valid_from);
-- The spans open now, with what the backtest reads of them, without touching the table.
CREATE INDEX deal_spans_open ON deal_spans (pipeline_id, valid_to, valid_from, deal_id, stage_id, value, owner_id, entered)
    WHERE valid_to IS NULL;
-- Open deals as the projection, the forecast, the stage model and the attention list read
-- them (stage, time in stage, owner for visibility, value, expected close; id, title and
-- effort for the attention list), without touching the table.
CREATE INDEX deals_open ON deals (pipeline_id, status, stage_id, stage_entered_at, owner_id, value, expected_close_date,
    id, title, close_pushes, activities_done, effort_minutes)
    WHERE status = 'open';
-- Won deals by close instant with their cycle start: the median won cycle of a period.
CREATE INDEX deals_won ON deals (pipeline_id, closed_at, cycle_started_at, owner_id)
    WHERE status = 'won';
