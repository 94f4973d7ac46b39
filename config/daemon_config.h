// The daemon's own config sections (sources, sinks, dead_letter, http) of the main config file,
// validated like the rules: every error names file:line:col. `abusewatch replay` ignores them.
//
//   sources:      [{type: file, path: samples/x.jsonl, follow: true}]
//   sinks:        [{type: stdout}, {type: file, path: /var/lib/abusewatch/out.jsonl,
//                   notify_only: false}]
//   dead_letter:  {type: file, path: rejects.jsonl}
//   http:         {listen: "127.0.0.1:9464", enabled: true}
//
// Relative paths are relative to the directory of the config file.
#ifndef ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_
#define ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

struct SourceConfig {
  std::string type = "file";  // file (kafka comes with the Kafka source)
  std::string path;           // file: JSON Lines; "-" = standard input
  bool follow = true;         // file: keep reading as it grows, reopen when rotated (tail -F)
};

struct SinkConfig {
  std::string type = "stdout";  // stdout | file
  std::string path;             // file
  bool notify_only = false;     // only rules with notify: true
};

struct DaemonConfig {
  std::vector<SourceConfig> sources;
  std::vector<SinkConfig> sinks;
  bool has_dead_letter = false;
  std::string dead_letter_path;  // rejected records with reason and raw payload
  bool http_enabled = true;
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 9464;
};

// Reads the daemon sections of the main config file `path`. Defaults when a section is absent:
// no sources (an error for `run`, reported by the caller), a stdout sink, http on
// 127.0.0.1:9464.
Status LoadDaemonConfig(const std::string& path, DaemonConfig* out);

}  // namespace abusewatch

#endif  // ABUSEWATCH_CONFIG_DAEMON_CONFIG_H_
