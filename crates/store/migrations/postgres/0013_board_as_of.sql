-- The board at a past instant lists, per stage, a page of the spans that cover it: found by
-- walking the spans of that stage that ended after the instant, in end order.
CREATE INDEX deal_spans_stage_to ON deal_spans (pipeline_id, stage_id, valid_to);
