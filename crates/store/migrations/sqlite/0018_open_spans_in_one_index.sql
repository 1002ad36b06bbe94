-- The open spans are the leading range of `deal_spans_to` (valid_to IS NULL, within a
-- pipeline), which holds every column the backtest and the board read of them: the partial
-- index repeated it. One index less to keep, and to build after a first import.
DROP INDEX IF EXISTS deal_spans_open;
