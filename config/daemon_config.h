// The daemon's own config sections (sources, sinks, dead_letter, http) of the main config file,
// validated like the rules: every error names file:line:col. `abusewatch replay` ignores them.
//
//   sources:                                   # exactly one
//     - {type: file, path: samples/x.jsonl, follow: true}        # "-" = standard input
//     - type: kafka
//       brokers: "kafka-1:9093,kafka-2:9093"
//       group: abusewatch                     # consumer group (default abusewatch)
//       topics: [aw.events]                   # one mixed topic, or one topic per stream:
//       # topics: {abuse_report: aw.reports, payment: aw.payments, ...}
//       start: earliest                       # earliest | latest, for a group with no offsets
//       idle_timeout: 5s                      # a silent partition stops holding time back
//       commit_interval: 1s
//       properties: {security.protocol: SASL_SSL, sasl.password: "${env:KAFKA_PASSWORD}"}
//   sinks:                                     # default: [{type: stdout}]
//     - {type: stdout, notify_only: false}
//     - {type: file, path: /var/lib/abusewatch/transitions.jsonl}
//     - {type: alertmanager, url: "http://127.0.0.1:9093", resend_interval: 1m, ends_ahead: 5m}
//     - {type: kafka, brokers: ..., topic: aw.alerts, notify_only: false, properties: {...}}
//     - {type: webhook, url: "http://hooks.internal/abuse", secret: "${file:/etc/aw/hook.key}"}
//   dead_letter: {type: file, path: rejects.jsonl}            # or {type: kafka, brokers, topic}
//   http:         {listen: "127.0.0.1:9464", enabled: true}   # port 0: any free port
//   state:                                     # durable state; absent: none (restart = empty)
//     dir: /var/lib/abusewatch/state           # RocksDB, one per instance
//     checkpoint_interval: 10s                 # and at graceful stop
//     on_rules_change: refuse                  # refuse | keep_unchanged | rebuild
//     max_hot_keys: 1000000                    # keys kept in memory; the rest in RocksDB (0: all)
//     lane_restore_timeout: 60s                # wait for restored partitions to come back
//   review:                                    # compliance review store; absent: none
//     enabled: true                            # default true when the section is present
//     store: sqlite                            # sqlite | postgresql
//     path: review.sqlite                      # sqlite; default: review.sqlite beside state.dir
//     postgres: "host=db dbname=abusewatch"    # postgresql: libpq conninfo, or instead
//     postgres_file: /etc/aw/review.conninfo   #   a file holding it (keeps passwords out)
//     tokens: /etc/aw/review.tokens            # bearer token file (required when enabled)
//     four_eyes: false                         # confirmed decisions need a second reviewer
//     max_evidence_bytes: 64KiB                # a raw event stored longer than this is cut
//     evidence_buffer: 64MiB                   # recent raw events kept in memory for evidence
//     page: true                               # serve the review page (/review/)
//
// Relative paths are relative to the directory of the config file. In `secret` and in Kafka
// `properties` values, "${env:NAME}" is replaced by an environment variable and "${file:PATH}"
// by a file's content (one trailing newline dropped); a missing one is a config error, and the
// values never appear in logs or in check-config output.
#ifndef ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_
#define ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

struct KafkaConnection {
  std::string brokers;  // bootstrap.servers
  std::string client_id = "abusewatch";
  // librdkafka properties passed through unchanged (TLS, SASL, tuning), secrets resolved.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct SourceConfig {
  std::string type = "file";  // file | kafka
  // file
  std::string path;    // JSON Lines; "-" = standard input
  bool follow = true;  // keep reading as it grows, reopen when rotated (tail -F)
  // kafka
  KafkaConnection kafka;
  std::string group = "abusewatch";
  std::vector<std::string> topics;  // distinct, in config order
  std::string start = "earliest";   // auto.offset.reset: earliest | latest
  int64_t idle_timeout_ms = 5'000;
  int64_t commit_interval_ms = 1'000;
};

struct SinkConfig {
  std::string type = "stdout";  // stdout | file | alertmanager | kafka | webhook
  std::string path;             // file
  // Only rules with notify: true. Default false for stdout/file/kafka, true for webhook;
  // Alertmanager always sends notifying rules only.
  bool notify_only = false;
  std::string url;                      // alertmanager | webhook (http://)
  int64_t resend_interval_ms = 60'000;  // alertmanager
  int64_t ends_ahead_ms = 300'000;      // alertmanager
  int64_t timeout_ms = 10'000;          // alertmanager | webhook: per request
  int64_t max_attempts = 5;             // alertmanager | webhook
  int64_t queue_capacity = 10'000;      // alertmanager | webhook: waiting deliveries
  std::string secret;                   // webhook: HMAC-SHA256 key (resolved)
  KafkaConnection kafka;                // kafka
  std::string topic;                    // kafka
};

struct DeadLetterConfig {
  std::string type = "file";  // file | kafka
  std::string path;           // file
  KafkaConnection kafka;      // kafka
  std::string topic;          // kafka
};

struct StateConfig {
  std::string dir;  // empty: no durable state
  int64_t checkpoint_interval_ms = 10'000;
  // What to do when the saved state was written with other rules: refuse to start, keep the
  // state of the unchanged rules, or rebuild (drop it, read the inputs from their start).
  std::string on_rules_change = "refuse";
  // Memory budget: at most this many keys hold their state in memory; the least recently used
  // others are evicted after each checkpoint and read back when touched. 0: no limit.
  int64_t max_hot_keys = 0;
  // Kafka partitions restored from a checkpoint hold event time back until the group assigns
  // them again (a killed instance stays in the group until its session times out); those not
  // back after this long are closed (they went to another instance).
  int64_t lane_restore_timeout_ms = 60'000;
};

struct ReviewConfig {
  bool enabled = false;
  std::string store = "sqlite";  // sqlite | postgresql
  std::string path;              // sqlite: the database file (resolved)
  std::string postgres;          // postgresql: libpq conninfo (read from postgres_file if set)
  std::string postgres_file;     // where `postgres` came from, "" when given inline
  std::string tokens;            // the token file (auth.h), resolved
  bool four_eyes = false;
  int64_t max_evidence_bytes = 64 * 1024;
  int64_t evidence_buffer_bytes = 64 * 1024 * 1024;  // 0: raw evidence is not kept
  bool page = true;
};

struct DaemonConfig {
  std::vector<SourceConfig> sources;
  std::vector<SinkConfig> sinks;
  bool has_dead_letter = false;
  DeadLetterConfig dead_letter;  // rejected records with reason and raw payload
  bool http_enabled = true;
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 9464;
  StateConfig state;
  ReviewConfig review;
  // Threads decoding records alongside the engine's (top-level decode_threads): 0 = none (the
  // default), -1 = auto (one per CPU beyond the engine's, at most 3). Read at start; a reload
  // keeps the running value.
  int decode_threads = 0;
};

// Reads the daemon sections of the main config file `path`. Defaults when a section is absent:
// no sources (an error for `run`, reported by the caller), a stdout sink, http on
// 127.0.0.1:9464.
Status LoadDaemonConfig(const std::string& path, DaemonConfig* out);

// One line per source and sink for logs and check-config, secrets left out.
std::string DescribeDaemonConfig(const DaemonConfig& config);

}  // namespace abusewatch

#endif  // ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_
