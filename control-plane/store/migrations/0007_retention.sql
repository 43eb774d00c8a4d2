-- Bounded snapshot history (DESIGN §7.1). A version's blob leaves the window in two steps:
-- blob_expired_at is set (under the version-history advisory lock) when it is no longer
-- among the newest CORRAL_SNAPSHOT_RETAIN versions, served by a node or republished by a
-- standing rollback, and from then on rollback refuses it; blob_deleted_at is set once the
-- blob store confirmed the delete. Expired but not deleted means "delete again next pass".
ALTER TABLE config_versions
  ADD COLUMN blob_expired_at timestamptz,
  ADD COLUMN blob_deleted_at timestamptz,
  ADD CONSTRAINT config_versions_deleted_after_expired
    CHECK (blob_deleted_at IS NULL OR blob_expired_at IS NOT NULL);

CREATE INDEX config_versions_blob_pending ON config_versions (version)
  WHERE blob_expired_at IS NOT NULL AND blob_deleted_at IS NULL;
