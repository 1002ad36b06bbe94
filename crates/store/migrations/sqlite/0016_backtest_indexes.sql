-- The backtest reads every span covering an instant of the past, 12 weeks ago by default: at a
-- million deals, 150,000 spans, a third of them ended since. Reading those from the table costs
-- a lookup each (most of the flow report's time); with what the backtest reads of a span in
-- the index itself, the table is not touched. See BENCHMARKS.md, "Reports at a million deals".
DROP INDEX IF EXISTS deal_spans_to;
CREATE INDEX deal_spans_to ON deal_spans (pipeline_id, valid_to, valid_from, stage_id, value, owner_id, entered, deal_id);
-- Won deals by close instant, with their id and value: what the deals open on the backtest's
-- day actually won since, without reading the table.
DROP INDEX IF EXISTS deals_won;
CREATE INDEX deals_won ON deals (pipeline_id, closed_at, cycle_started_at, owner_id, id, value)
    WHERE status = 'won';
