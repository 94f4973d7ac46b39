#include "daemon/state/state_cli.h"

#include <fstream>
#include <memory>

#include "config/config_loader.h"
#include "config/daemon_config.h"
#include "daemon/state/state_store.h"
#include "detectors/engine.h"
#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch {
namespace {

// {"key":…,<describe members>} for one record.
Status KeyJson(const RuleSet& rules, std::string_view key, std::string_view value,
               std::string* line) {
  std::string body;
  if (Status s = Engine::DescribeKeyRecord(rules, value, &body); !s.ok()) return s;
  line->assign("{\"key\":");
  AppendJsonString(key, line);
  line->push_back(',');
  line->append(body, 1, std::string::npos);  // body without its '{'
  return Status::Ok();
}

}  // namespace

int RunStateCli(const StateCliOptions& o, std::ostream& out, std::ostream& err) {
  EngineConfig config;
  if (Status s = LoadConfigFile(o.config, &config); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  std::shared_ptr<const RuleSet> rules;
  if (Status s = RuleSet::Compile(std::move(config), &rules); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  DaemonConfig daemon;
  if (Status s = LoadDaemonConfig(o.config, &daemon); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  if (daemon.state.dir.empty()) {
    err << "abusewatch: " << o.config << " has no state section (state.dir)\n";
    return 2;
  }
  std::unique_ptr<StateStore> store;
  if (Status s = StateStore::Open(daemon.state.dir, /*create_if_missing=*/false,
                                  /*verify=*/o.command == "info", &store);
      !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  const StateStoreInfo info = store->Info();
  const std::string fingerprint = Engine(rules, nullptr).RulesFingerprint();
  const bool same_rules = info.rules_fingerprint == fingerprint;
  if (o.command == "info") {
    out << "state directory  " << daemon.state.dir << "\n"
        << "format           " << info.format_version << "\n"
        << "checkpoints      " << info.checkpoints << "\n"
        << "last written     "
        << (info.written_unix_ms > 0 ? FormatRfc3339Utc(info.written_unix_ms) : "never") << "\n"
        << "keys (estimate)  " << info.approximate_keys << "\n"
        << "bytes on disk    " << info.approximate_bytes << "\n"
        << "rules            "
        << (info.checkpoints == 0 ? "-"
            : same_rules          ? "the rules of " + o.config
                                  : "OTHER rules than " + o.config +
                               " (the daemon would refuse, keep the unchanged, or "
                               "rebuild: state.on_rules_change)")
        << "\n";
    std::vector<SourceCursor> cursors;
    if (Status s = store->GetCursors(&cursors); !s.ok()) {
      err << "abusewatch: " << s.message() << "\n";
      return 2;
    }
    for (const SourceCursor& c : cursors) {
      out << "input            " << c.input << " lane " << c.lane << " next " << c.next
          << (c.identity.empty() ? "" : " (" + c.identity + ")") << "\n";
    }
    return 0;
  }
  if (!same_rules && info.checkpoints > 0) {
    err << "abusewatch: the state was written with other rules than " << o.config
        << "; use the config it was written with\n";
    return 2;
  }
  if (o.command == "inspect") {
    std::string value, line;
    Status s = store->GetKey(o.key, &value);
    if (s.code() == Status::Code::kNotFound) {
      err << "abusewatch: no state for key " << o.key << "\n";
      return 1;
    }
    if (s.ok()) s = KeyJson(*rules, o.key, value, &line);
    if (!s.ok()) {
      err << "abusewatch: " << s.message() << "\n";
      return 2;
    }
    out << line << "\n";
    return 0;
  }
  std::ofstream file;
  std::ostream* dest = &out;
  if (!o.output.empty() && o.output != "-") {
    file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "abusewatch: cannot write " << o.output << "\n";
      return 1;
    }
    dest = &file;
  }
  std::string line;
  uint64_t n = 0;
  Status s = store->ForEachKey([&](std::string_view key, std::string_view value) {
    if (Status k = KeyJson(*rules, key, value, &line); !k.ok()) return k;
    *dest << line << "\n";
    ++n;
    return Status::Ok();
  });
  if (!s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  dest->flush();
  if (!*dest) {
    err << "abusewatch: write failed\n";
    return 1;
  }
  err << "exported " << n << " keys\n";
  return 0;
}

}  // namespace abusewatch
