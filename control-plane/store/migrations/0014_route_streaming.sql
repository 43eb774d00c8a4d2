-- WebSocket and streaming settings of a route (issue 11). NULL means "the default": the
-- snapshot carries 0 and the node applies the bound's default (proto/route-streaming.ts), so a
-- default changed there reaches routes created before the change. Bounds are checked by the
-- API schemas and again by the snapshot consistency check.
ALTER TABLE routes
  ADD COLUMN websocket boolean NOT NULL DEFAULT false,
  ADD COLUMN websocket_idle_timeout_ms integer,
  ADD COLUMN websocket_max_connections integer,
  ADD COLUMN stream_idle_timeout_ms integer,
  ADD COLUMN websocket_max_message_bytes integer;
