-- Operator tokens managed through the admin API (issue 8 item 10).
-- kind: 'bootstrap' rows come from CORRAL_OPERATOR_TOKEN (inserted once, keyed by hash: a revoked
-- bootstrap token stays revoked across restarts); 'issued' rows from POST /admin/v1/operator-tokens.
-- Names are unique among active tokens only, so a revoked token's name can be used again.
ALTER TABLE operator_tokens
  ADD COLUMN kind         text NOT NULL DEFAULT 'issued' CHECK (kind IN ('bootstrap', 'issued')),
  ADD COLUMN created_by   text,
  ADD COLUMN expires_at   timestamptz,
  ADD COLUMN last_used_at timestamptz;

UPDATE operator_tokens SET kind = 'bootstrap' WHERE id = 'bootstrap';

ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_name_key;
CREATE UNIQUE INDEX operator_tokens_active_name ON operator_tokens (name) WHERE revoked_at IS NULL;
