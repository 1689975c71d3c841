// SPDX-License-Identifier: Apache-2.0
// The schema both back ends create: versioned migrations, applied in order and recorded in
// schema_migrations. Portable SQL (SQLite and PostgreSQL run the same text).
#pragma once

namespace dialtone::schema {

inline constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE users (
  user_id    TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  photo      TEXT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE calls (
  call_id     TEXT PRIMARY KEY,
  caller_id   TEXT NOT NULL,
  receiver_id TEXT NOT NULL,
  state       TEXT NOT NULL,
  created_ms  BIGINT NOT NULL,
  version     BIGINT NOT NULL,
  deadline_ms BIGINT,
  doc         TEXT NOT NULL
);
CREATE INDEX calls_by_caller ON calls (caller_id, created_ms);
CREATE INDEX calls_by_receiver ON calls (receiver_id, created_ms);
CREATE INDEX calls_by_deadline ON calls (deadline_ms) WHERE deadline_ms IS NOT NULL;
CREATE TABLE active_calls (
  user_id TEXT PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (call_id)
);
CREATE INDEX active_calls_by_call ON active_calls (call_id);
)sql",
    R"sql(
CREATE TABLE devices (
  user_id     TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  platform    TEXT NOT NULL,
  token       TEXT NOT NULL,
  alert_token TEXT NOT NULL,
  environment TEXT NOT NULL,
  updated_ms  BIGINT NOT NULL,
  PRIMARY KEY (user_id, device_id)
);
CREATE INDEX devices_by_token ON devices (platform, token);
)sql",
    // Contacts (directory = "contacts"): who may see whom. A call adds both directions; a user
    // adds one with POST /v1/contacts. Seeded from the calls already stored.
    R"sql(
CREATE TABLE contacts (
  user_id    TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  PRIMARY KEY (user_id, contact_id)
);
CREATE INDEX contacts_by_contact ON contacts (contact_id, user_id);
INSERT INTO contacts (user_id, contact_id)
  SELECT caller_id, receiver_id FROM calls WHERE caller_id <> receiver_id
  UNION SELECT receiver_id, caller_id FROM calls WHERE caller_id <> receiver_id;
)sql",
    // A call's timeline besides its trail (which the call record holds): what the clients
    // reported about their media, push attempts, relayed-signal counts. Bounded per call by the
    // writer; deleted with the call. Operators search calls by time.
    R"sql(
CREATE TABLE call_events (
  call_id TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  at_ms   BIGINT NOT NULL,
  side    TEXT NOT NULL,
  device  TEXT NOT NULL,
  type    TEXT NOT NULL,
  data    TEXT NOT NULL,
  PRIMARY KEY (call_id, seq)
);
CREATE INDEX calls_by_created ON calls (created_ms);
)sql",
    // An event is stored once: a client re-sends a report whose answer it did not get (its
    // connection dropped, or stalled past the request's timeout), with the same times.
    R"sql(
DELETE FROM call_events WHERE EXISTS (
  SELECT 1 FROM call_events d WHERE d.call_id = call_events.call_id AND d.seq < call_events.seq
    AND d.at_ms = call_events.at_ms AND d.side = call_events.side
    AND d.device = call_events.device AND d.type = call_events.type AND d.data = call_events.data);
CREATE UNIQUE INDEX call_events_once ON call_events (call_id, at_ms, side, device, type, data);
)sql",
    // Secrets the nodes must agree on without copying files (the development-token key).
    R"sql(
CREATE TABLE shared_secrets (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
    // The push outbox: each push a change plans is written in that change's transaction, leased
    // to the node that sends it, and deleted once it has its final answer. A node that dies
    // stops renewing its leases; another node (or itself, restarted) takes the pushes over.
    R"sql(
CREATE TABLE push_outbox (
  push_id    TEXT PRIMARY KEY,
  call_id    TEXT NOT NULL,
  kind       TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  notice     TEXT NOT NULL,
  expires_ms BIGINT NOT NULL,
  owner      TEXT NOT NULL,
  lease_ms   BIGINT NOT NULL,
  claims     INTEGER NOT NULL
);
CREATE INDEX push_outbox_by_lease ON push_outbox (lease_ms);
CREATE INDEX push_outbox_by_owner ON push_outbox (owner);
CREATE INDEX push_outbox_by_call ON push_outbox (call_id);
)sql",
};

}  // namespace dialtone::schema
