-- Keyless public routes and gateway idempotency keys (issue 13 items 5 and 6).
--
-- routes.public: the route is reached without an API key, by host; it must name its hosts, and
-- a host is public for one tenant only (the service layer refuses a public route whose host
-- another tenant's route uses, and any route on a host another tenant has public, under a
-- per-host advisory lock; the GIN index serves that overlap query).
-- routes.client_rate / client_burst: the per-client-address bucket of a public route (both or
-- neither; only on public routes).
-- routes.idempotency: POST/PATCH carrying Idempotency-Key are executed once, the first answer
-- replayed by the data plane (http routes only).
ALTER TABLE routes
  ADD COLUMN public       boolean NOT NULL DEFAULT false,
  ADD COLUMN idempotency  boolean NOT NULL DEFAULT false,
  ADD COLUMN client_rate  double precision CHECK (client_rate > 0 AND client_rate <= 1e6),
  ADD COLUMN client_burst double precision CHECK (client_burst >= 1 AND client_burst <= 1e7),
  ADD CONSTRAINT routes_public_hosts CHECK (NOT public OR cardinality(hosts) > 0),
  ADD CONSTRAINT routes_client_limits CHECK (
    (client_rate IS NULL) = (client_burst IS NULL) AND (client_rate IS NULL OR public)),
  ADD CONSTRAINT routes_idempotency_http CHECK (NOT idempotency OR protocol = 'http');

CREATE INDEX routes_hosts ON routes USING gin (hosts);
