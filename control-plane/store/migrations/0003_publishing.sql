-- Publishing with several control-plane replicas (DESIGN §3.2).
--
-- config_changes: one row whose counter every configuration change bumps in its own
-- transaction (and NOTIFYs 'corral_changes'). The publisher reads it in the same snapshot as
-- the rows it compiles and records it with the version, so "counter above the one the newest
-- version covers" means "a committed change is not published yet": no change is lost when
-- the replica that took it is not the publisher, or a notification is missed.
-- rollback_of: set by a rollback (republish that version's content), cleared by every other
-- operator change (the next version is compiled from the tables again).
CREATE TABLE config_changes (
  name        text PRIMARY KEY CHECK (name = 'config'),
  counter     bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  rollback_of bigint,
  changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO config_changes (name) VALUES ('config');

ALTER TABLE config_versions
  ADD COLUMN change_counter bigint NOT NULL DEFAULT 0,
  ADD COLUMN rollback_of bigint;
