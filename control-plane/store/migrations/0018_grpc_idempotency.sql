-- Gateway idempotency keys on gRPC routes (issue 13 item 5, "every item works on HTTP and
-- gRPC"): the data plane now keys unary gRPC calls by their idempotency-key metadata, so a
-- grpc route may opt in like an http one.
ALTER TABLE routes DROP CONSTRAINT routes_idempotency_http;
