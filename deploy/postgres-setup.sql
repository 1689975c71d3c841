-- PostgreSQL 15: the database and role for Dialtone. dialtoned creates and migrates its own
-- tables at start-up (versioned; several nodes starting together migrate once).
--   sudo -u postgres psql -f postgres-setup.sql
CREATE ROLE dialtone LOGIN PASSWORD 'change-me';
CREATE DATABASE dialtone OWNER dialtone;
-- Connections: each node holds one (its store thread). max_connections = 100 is plenty.
-- Durability: keep the defaults (fsync on, synchronous_commit on): an acknowledged transition
-- must survive the loss of the database host. Group commit keeps that affordable.
-- pg_hba.conf: allow the nodes only, with TLS:
--   hostssl dialtone dialtone 10.0.0.0/24 scram-sha-256
