#include "daemon/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <streambuf>
#include <thread>
#include <utility>
#include <vector>

#include "config/config_loader.h"
#include "config/daemon_config.h"
#include "daemon/allocator.h"
#include "daemon/gen/gen_kafka.h"
#include "daemon/gen/generator.h"
#include "daemon/replay.h"
#include "daemon/review/audit_cli.h"
#include "daemon/review/auth.h"
#include "daemon/run.h"
#include "daemon/state/state_cli.h"
#include "detectors/rule_set.h"
#include "detectors/timeutil.h"

#ifndef ABUSEWATCH_VERSION
#define ABUSEWATCH_VERSION "0.1.0"
#endif

namespace abusewatch {
namespace {

int CheckConfig(const std::string& path) {
  EngineConfig config;
  std::vector<std::string> warnings;
  if (Status s = LoadConfigFile(path, &config, &warnings); !s.ok()) {
    std::cerr << "abusewatch: config error: " << s.message() << "\n";
    return 2;
  }
  std::string summary = DescribeConfig(config);
  std::shared_ptr<const RuleSet> rules;
  if (Status s = RuleSet::Compile(std::move(config), &rules); !s.ok()) {
    std::cerr << "abusewatch: config error: " << s.message() << "\n";
    return 2;
  }
  DaemonConfig daemon;  // sources, sinks, http: validated too, so a reload cannot fail on them
  if (Status s = LoadDaemonConfig(path, &daemon); !s.ok()) {
    std::cerr << "abusewatch: config error: " << s.message() << "\n";
    return 2;
  }
  if (daemon.review.enabled) {  // the token file must load, or `run` would refuse to start
    TokenStore tokens;
    std::string warning;
    if (Status s = tokens.Load(daemon.review.tokens, &warning); !s.ok()) {
      std::cerr << "abusewatch: config error: review tokens: " << s.message() << "\n";
      return 2;
    }
    if (!warning.empty()) warnings.push_back("review tokens: " + warning);
  }
  for (const std::string& w : warnings) std::cerr << "abusewatch: warning: " << w << "\n";
  size_t notify = 0, enabled = 0;
  for (const CompiledRule& r : rules->rules()) {
    enabled += r.spec.enabled;
    notify += r.spec.enabled && r.spec.notify;
  }
  std::cout << summary << DescribeDaemonConfig(daemon);
  std::cout << path << ": OK, " << rules->rules().size() << " rules (" << enabled << " enabled, "
            << notify << " notify), " << rules->detectors().size() << " detectors\n";
  return 0;
}

int Generate(const GenOptions& options, const std::string& output) {
  Status s;
  if (output == "-") {
    s = GenerateStream(options, std::cout);
    std::cout.flush();
  } else {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    if (!out) {
      std::cerr << "abusewatch: cannot create " << output << "\n";
      return 1;
    }
    GenSummary summary;
    s = GenerateStream(options, out, &summary);
    out.close();
    if (s.ok() && !out) s = Status::IoError("cannot write " + output);
    if (s.ok()) {
      std::cerr << "abusewatch gen: wrote " << summary.lines << " lines to " << output << "\n";
    }
  }
  if (!s.ok()) {
    std::cerr << "abusewatch: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

int Run(int argc, char** argv) {
  CLI::App app{
      "abusewatch: watches a provider's event streams for the facts of Criminal Law art. 287-2\n"
      "and 法释〔2019〕15号 (presumed knowledge, serious circumstances) and reports transitions.\n"
      "Run `abusewatch <command> --help` for the options of a command."};
  app.set_version_flag("--version", [] {
    return std::string("abusewatch ") + ABUSEWATCH_VERSION + " (malloc: " + AllocatorName() + ")";
  });
  app.require_subcommand(1);

  RunOptions run;
  std::string log_format = "text";
  CLI::App* rn = app.add_subcommand(
      "run",
      "Run the daemon: read the configured source (a JSON Lines file, followed like tail -F),\n"
      "write transitions to the configured sinks, serve /metrics, /healthz, /readyz.\n"
      "SIGHUP reloads the config (an invalid one is refused and the old one kept);\n"
      "SIGTERM stops cleanly. Example:\n"
      "  abusewatch run --config config/abusewatch.yaml");
  rn->add_option("--config", run.config, "config YAML file (rules and daemon sections)")
      ->required();
  rn->add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  CLI::Option* rebuild_opt =
      rn->add_flag("--state-rebuild", run.state_rebuild,
                   "drop the saved state (config state.dir) and rebuild it by reading the inputs "
                   "from the start of what they retain");
  rn->add_flag("--state-keep-unchanged", run.state_keep_unchanged,
               "the saved state was written with other rules: keep the state of the unchanged "
               "rules, start the others empty")
      ->excludes(rebuild_opt);

  ReplayOptions replay;
  CLI::App* rp = app.add_subcommand(
      "replay",
      "Run the rules over a JSON Lines event file and write one transition per line,\n"
      "ordered by time, rule and key. Example:\n"
      "  abusewatch replay --config config/abusewatch.yaml --input events.jsonl");
  rp->footer(
      "Rejected lines never stop the run; each gets a reason code (see --rejects).\n"
      "Exit status: 0 input read to its end, 2 config or usage error, 1 I/O failure.");
  rp->add_option("--config", replay.config, "rule/config YAML file")->required();
  rp->add_option("--input", replay.input, "events, JSON Lines; - for standard input")->required();
  rp->add_option("--output", replay.output, "transitions, JSON Lines; - for standard output")
      ->capture_default_str();
  rp->add_option("--rejects", replay.rejects,
                 "write rejected lines here as {line,id,reason,detail} JSON Lines");
  rp->add_option("--decode-threads", replay.decode_threads,
                 "threads decoding alongside the engine (0: none; -1: auto, one per CPU beyond "
                 "the engine's, at most 3); the output is the same")
      ->capture_default_str();
  rp->add_flag("--decode-only", replay.decode_only,
               "only check lines against the event contract (no rules, no late/duplicate)");

  std::string check_path;
  CLI::App* cc = app.add_subcommand(
      "check-config",
      "Validate a config file and its rule packs, print a summary of the rules.\n"
      "Exit status 2 (with file:line:col) when anything is wrong.");
  cc->add_option("file", check_path, "config YAML file")->required();

  GenOptions gen;
  std::string gen_out = "-";
  std::string gen_start;
  CLI::App* gn = app.add_subcommand(
      "gen",
      "Write a realistic synthetic event stream (background traffic plus planted\n"
      "offenders on each legal line of the default pack), for demos, tests, benchmarks.");
  gn->add_option("--events", gen.events, "number of lines")->capture_default_str();
  gn->add_option("--accounts", gen.accounts, "background accounts")->capture_default_str();
  gn->add_option("--seed", gen.seed, "random seed (same seed, same stream)")->capture_default_str();
  gn->add_option("--offenders", gen.offenders_per_line, "planted offenders per legal line")
      ->capture_default_str();
  gn->add_option("--bad-fraction", gen.bad_fraction, "fraction of invalid lines")
      ->capture_default_str();
  gn->add_option("--start", gen_start, "event time of the first event (RFC 3339)");
  int64_t span_days = 30;
  gn->add_option("--span-days", span_days, "event times spread over this many days")
      ->capture_default_str();
  gn->add_option("--disorder", gen.disorder,
                 "fraction of background lines up to 20 s out of order (<= 0.5)")
      ->capture_default_str();
  CLI::Option* gen_out_opt =
      gn->add_option("--output", gen_out, "file to write; - for standard output")
          ->capture_default_str();
  KafkaTopicWriter::Options gen_kafka;
  std::vector<std::string> gen_kafka_props;
  double gen_rate = 0;
  CLI::Option* brokers_opt =
      gn->add_option("--kafka-brokers", gen_kafka.brokers,
                     "write to Kafka instead: bootstrap servers HOST:PORT[,...]; each line is one "
                     "message keyed by its account");
  CLI::Option* topic_opt = gn->add_option("--topic", gen_kafka.topic, "Kafka topic to write to");
  CLI::Option* props_opt = gn->add_option("--kafka-property", gen_kafka_props,
                                          "producer property k=v (TLS, SASL, compression.type, "
                                          "...); repeatable");
  CLI::Option* rate_opt =
      gn->add_option("--rate", gen_rate, "with --kafka-brokers: at most this many events/s")
          ->check(CLI::NonNegativeNumber);
  brokers_opt->needs(topic_opt)->excludes(gen_out_opt);
  topic_opt->needs(brokers_opt);
  props_opt->needs(brokers_opt);
  rate_opt->needs(brokers_opt);

  StateCliOptions state;
  CLI::App* st = app.add_subcommand(
      "state",
      "Look at the daemon's durable state (config state.dir), for support. Stop the daemon\n"
      "first (one process per state directory), or point a config at a copy. Examples:\n"
      "  abusewatch state info --config config/abusewatch.yaml\n"
      "  abusewatch state inspect --config config/abusewatch.yaml --key acct-17\n"
      "  abusewatch state export --config config/abusewatch.yaml --output state.jsonl");
  st->add_option("command", state.command, "info | inspect | export")
      ->required()
      ->check(CLI::IsMember({"info", "inspect", "export"}));
  st->add_option("--config", state.config, "the daemon's config file")->required();
  st->add_option("--key", state.key, "inspect: the group key (account, subject, ...)");
  st->add_option("--output", state.output, "export: JSON Lines file; - for standard output");

  AuditCliOptions audit;
  CLI::App* au = app.add_subcommand(
      "audit",
      "Check the compliance review store's audit log: recompute its SHA-256 hash chain and\n"
      "report the first edited, deleted or reordered entry. Examples:\n"
      "  abusewatch audit verify --db state/review.sqlite\n"
      "  abusewatch audit verify --postgres 'host=db dbname=abusewatch' --expect-head 42:ab12...");
  au->footer("Exit status: 0 intact (prints the head SEQ:HASH), 1 broken or unreadable, 2 usage.");
  au->add_option("command", audit.command, "verify")->required()->check(CLI::IsMember({"verify"}));
  CLI::Option* audit_db = au->add_option("--db", audit.db, "the review store's SQLite file");
  CLI::Option* audit_pg =
      au->add_option("--postgres", audit.postgres, "the review store's PostgreSQL conninfo");
  std::string audit_config;
  CLI::Option* audit_cfg = au->add_option(
      "--config", audit_config, "the daemon's config file: its review store (review: section)");
  audit_db->excludes(audit_pg);
  audit_cfg->excludes(audit_db)->excludes(audit_pg);

  TokenCommandOptions token;
  CLI::App* tk = app.add_subcommand(
      "token",
      "Make a bearer token for the review API: printed once on standard output, only its hash\n"
      "is stored. Examples:\n"
      "  abusewatch token new --name alice --role reviewer --append /etc/abusewatch/review.tokens\n"
      "  abusewatch token new --name ops-robot --role viewer   # prints the line to add");
  tk->footer("Exit status: 0 done, 2 usage (bad name or role, name taken, invalid file), 1 I/O.");
  tk->add_option("command", token.command, "new")->required()->check(CLI::IsMember({"new"}));
  tk->add_option("--name", token.name, "the token's name (shown in the audit log)")->required();
  tk->add_option("--role", token.role, "viewer | reviewer | admin")->required();
  tk->add_option("--append", token.append,
                 "token file to append the entry to (created with mode 0600 when missing)");
  au->add_option("--expect-head", audit.expect_head,
                 "SEQ:HASH recorded earlier: also detects a truncated tail");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (rn->parsed()) {
    run.log_json = log_format == "json";
    return RunDaemon(run, std::cerr);
  }
  if (rp->parsed()) return RunReplay(replay, std::cerr);
  if (cc->parsed()) return CheckConfig(check_path);
  if (st->parsed()) {
    if (state.command == "inspect" && state.key.empty()) {
      std::cerr << "abusewatch: state inspect needs --key\n";
      return 2;
    }
    return RunStateCli(state, std::cout, std::cerr);
  }
  if (au->parsed()) {
    if (!audit_config.empty()) {
      DaemonConfig daemon;
      if (Status s = LoadDaemonConfig(audit_config, &daemon); !s.ok()) {
        std::cerr << "abusewatch: " << s.message() << "\n";
        return 2;
      }
      if (!daemon.review.enabled) {
        std::cerr << "abusewatch: " << audit_config << " has no enabled review store\n";
        return 2;
      }
      if (daemon.review.store == "sqlite") {
        audit.db = daemon.review.path;
      } else {
        audit.postgres = daemon.review.postgres;
      }
    }
    return RunAuditCli(audit, std::cout, std::cerr);
  }
  if (tk->parsed()) return RunTokenCommand(token, std::cout, std::cerr);
  if (gn->parsed()) {
    if (!gen_start.empty() && !ParseRfc3339(gen_start, &gen.start_ms)) {
      std::cerr << "abusewatch: --start must be an RFC 3339 time with offset\n";
      return 2;
    }
    gen.span_ms = span_days * kMsPerDay;
    if (!gen_kafka.brokers.empty() || brokers_opt->count() > 0) {
      for (const std::string& p : gen_kafka_props) {
        size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::cerr << "abusewatch: --kafka-property must be name=value: " << p << "\n";
          return 2;
        }
        gen_kafka.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
      }
      return GenerateToKafka(gen, std::move(gen_kafka), gen_rate);
    }
    return Generate(gen, gen_out);
  }
  return 2;
}

}  // namespace

int RunCli(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "abusewatch: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace abusewatch
