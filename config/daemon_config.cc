#include "config/daemon_config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/yaml_util.h"
#include "detectors/event.h"

namespace abusewatch {
namespace {

using config_internal::Entry;
using config_internal::ErrorAt;
using config_internal::MapView;
using config_internal::PosOf;
using config_internal::Quote;
using config_internal::ReadBool;
using config_internal::ReadDuration;
using config_internal::ReadInteger;
using config_internal::ReadString;

std::string Resolve(const std::filesystem::path& base, const std::string& p) {
  if (p == "-" || p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

Status ForEachMap(const std::string& file, const Entry& e, const char* what,
                  const std::function<Status(const MapView&)>& fn) {
  if (!e.value.IsSequence()) return ErrorAt(e.value_pos, std::string(what) + " must be a list");
  for (const YAML::Node& item : e.value) {
    MapView m;
    Status s = MapView::Make(file, item, PosOf(file, item, e.value_pos), what, &m);
    if (!s.ok()) return s;
    if (s = fn(m); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Type(const MapView& m, std::initializer_list<std::string_view> types, std::string* out) {
  if (Status s = m.Require("type", "e.g. type: file"); !s.ok()) return s;
  const Entry* t = m.Find("type");
  if (Status s = ReadString(*t, "type of " + m.what(), out); !s.ok()) return s;
  for (std::string_view x : types) {
    if (*out == x) return Status::Ok();
  }
  std::string allowed;
  for (std::string_view x : types) allowed += (allowed.empty() ? "" : ", ") + std::string(x);
  return ErrorAt(t->value_pos,
                 "unknown " + m.what() + " type " + Quote(*out) + " (allowed: " + allowed + ")");
}

// Keys allowed for a type: the common ones plus the type's own.
std::vector<std::string_view> Keys(std::initializer_list<std::string_view> common,
                                   std::initializer_list<std::string_view> own) {
  std::vector<std::string_view> v(common);
  v.insert(v.end(), own);
  return v;
}

// Expands "${env:NAME}" and "${file:PATH}" references in a secret-bearing value.
Status ExpandSecret(const Entry& e, const std::filesystem::path& base, std::string* value) {
  std::string out;
  size_t i = 0;
  while (i < value->size()) {
    const size_t open = value->find("${", i);
    if (open == std::string::npos) break;
    const size_t close = value->find('}', open);
    if (close == std::string::npos) break;
    out.append(*value, i, open - i);
    const std::string ref = value->substr(open + 2, close - open - 2);
    if (ref.rfind("env:", 0) == 0) {
      const char* v = std::getenv(ref.substr(4).c_str());
      if (v == nullptr) {
        return ErrorAt(e.value_pos, "environment variable " + Quote(ref.substr(4)) +
                                        " (referenced by " + e.key + ") is not set");
      }
      out.append(v);
    } else if (ref.rfind("file:", 0) == 0) {
      const std::string path = Resolve(base, ref.substr(5));
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        return ErrorAt(e.value_pos,
                       "cannot read secret file " + Quote(path) + " (referenced by " + e.key + ")");
      }
      std::ostringstream data;
      data << in.rdbuf();
      std::string s = data.str();
      if (!s.empty() && s.back() == '\n') s.pop_back();
      if (!s.empty() && s.back() == '\r') s.pop_back();
      out.append(s);
    } else {
      return ErrorAt(e.value_pos, "unknown reference " + Quote("${" + ref + "}") + " in " + e.key +
                                      " (use ${env:NAME} or ${file:PATH})");
    }
    i = close + 1;
  }
  out.append(*value, i, std::string::npos);
  *value = std::move(out);
  return Status::Ok();
}

// brokers, client_id, properties.
Status ReadKafka(const MapView& m, const std::filesystem::path& base, KafkaConnection* k) {
  Status s = m.Require("brokers", "bootstrap servers, e.g. brokers: \"kafka-1:9092\"");
  if (s.ok()) s = ReadString(*m.Find("brokers"), "brokers of " + m.what(), &k->brokers);
  if (s.ok() && k->brokers.empty()) s = ErrorAt(m.Find("brokers")->value_pos, "brokers is empty");
  if (s.ok() && m.Find("client_id")) {
    s = ReadString(*m.Find("client_id"), "client_id of " + m.what(), &k->client_id);
  }
  if (!s.ok() || !m.Find("properties")) return s;
  const Entry* p = m.Find("properties");
  MapView props;
  s = MapView::Make(m.file(), p->value, p->value_pos, "properties of " + m.what(), &props);
  for (const Entry& e : props.entries()) {
    if (!s.ok()) break;
    std::string v;
    s = ReadString(e, "Kafka property " + Quote(e.key), &v);
    if (s.ok()) s = ExpandSecret(e, base, &v);
    if (s.ok() && (e.key == "bootstrap.servers" || e.key == "group.id" ||
                   e.key == "enable.auto.commit" || e.key == "enable.auto.offset.store")) {
      s = ErrorAt(e.key_pos, "property " + Quote(e.key) +
                                 " is managed by abusewatch (use brokers / group instead)");
    }
    k->properties.emplace_back(e.key, std::move(v));
  }
  return s;
}

Status ReadTopics(const std::string& file, const Entry& e, SourceConfig* sc) {
  if (e.value.IsMap()) {  // stream → topic
    MapView m;
    Status s = MapView::Make(file, e.value, e.value_pos, "topics", &m);
    for (const Entry& t : m.entries()) {
      if (!s.ok()) return s;
      bool known = false;
      for (int i = 0; i < kNumEventTypes; ++i) {
        known |= EventTypeName(static_cast<EventType>(i)) == t.key;
      }
      if (!known) {
        return ErrorAt(t.key_pos, "unknown stream " + Quote(t.key) +
                                      " in topics (keys are event types of spec/events.md)");
      }
      std::string topic;
      s = ReadString(t, "topic of stream " + t.key, &topic);
      if (s.ok() && std::find(sc->topics.begin(), sc->topics.end(), topic) == sc->topics.end()) {
        sc->topics.push_back(topic);
      }
    }
    return s;
  }
  std::vector<SourcePos> pos;
  Status s =
      config_internal::ReadStringList(e.value, e.value_pos, "topics", true, &sc->topics, &pos);
  for (size_t i = 0; s.ok() && i < sc->topics.size(); ++i) {
    if (sc->topics[i].empty()) return ErrorAt(pos[i], "empty topic name");
    for (size_t j = 0; j < i; ++j) {
      if (sc->topics[j] == sc->topics[i]) {
        return ErrorAt(pos[i], "topic " + Quote(sc->topics[i]) + " is listed twice");
      }
    }
  }
  return s;
}

Status ReadSource(const MapView& m, const std::filesystem::path& base, SourceConfig* sc) {
  Status st = Type(m, {"file", "kafka"}, &sc->type);
  if (!st.ok()) return st;
  if (sc->type == "file") {
    st = m.CheckAllowed({"type", "path", "follow"});
    if (st.ok()) st = m.Require("path", "the JSON Lines file to read, or - for stdin");
    if (st.ok()) st = ReadString(*m.Find("path"), "path of source", &sc->path);
    if (st.ok() && m.Find("follow")) st = ReadBool(*m.Find("follow"), "follow", &sc->follow);
    sc->path = Resolve(base, sc->path);
    return st;
  }
  st = m.CheckAllowed({"type", "brokers", "client_id", "properties", "group", "topics", "start",
                       "idle_timeout", "commit_interval"});
  if (st.ok()) st = ReadKafka(m, base, &sc->kafka);
  if (st.ok() && m.Find("group")) st = ReadString(*m.Find("group"), "group", &sc->group);
  if (st.ok() && sc->group.empty()) st = ErrorAt(m.Find("group")->value_pos, "group is empty");
  if (st.ok()) st = m.Require("topics", "a list of topics, or a map stream: topic");
  if (st.ok()) st = ReadTopics(m.file(), *m.Find("topics"), sc);
  if (st.ok() && m.Find("start")) {
    st = ReadString(*m.Find("start"), "start", &sc->start);
    if (st.ok() && sc->start != "earliest" && sc->start != "latest") {
      st = ErrorAt(m.Find("start")->value_pos,
                   "start must be earliest or latest, got " + Quote(sc->start));
    }
  }
  if (st.ok() && m.Find("idle_timeout")) {
    st = ReadDuration(*m.Find("idle_timeout"), "idle_timeout", 1, &sc->idle_timeout_ms);
  }
  if (st.ok() && m.Find("commit_interval")) {
    st = ReadDuration(*m.Find("commit_interval"), "commit_interval", 1, &sc->commit_interval_ms);
  }
  return st;
}

Status ReadUrl(const MapView& m, std::string* url) {
  Status s = m.Require("url", "e.g. url: \"http://127.0.0.1:9093\"");
  if (s.ok()) s = ReadString(*m.Find("url"), "url of " + m.what(), url);
  if (s.ok() && url->rfind("http://", 0) != 0) {
    s = ErrorAt(
        m.Find("url")->value_pos,
        "only http:// URLs are supported (terminate TLS in a local proxy), got " + Quote(*url));
  }
  return s;
}

Status ReadSink(const MapView& m, const std::filesystem::path& base, SinkConfig* k) {
  Status st = Type(m, {"stdout", "file", "alertmanager", "kafka", "webhook"}, &k->type);
  if (!st.ok()) return st;
  const std::initializer_list<std::string_view> http = {"url", "timeout", "max_attempts", "queue"};
  if (k->type == "stdout") {
    st = m.CheckAllowed({"type", "notify_only"});
  } else if (k->type == "file") {
    st = m.CheckAllowed({"type", "notify_only", "path"});
    if (st.ok()) st = m.Require("path", "the JSON Lines file to append transitions to");
    if (st.ok()) st = ReadString(*m.Find("path"), "path of sink", &k->path);
    k->path = Resolve(base, k->path);
  } else if (k->type == "alertmanager") {
    k->notify_only = true;
    st = m.CheckAllowed(Keys(http, {"type", "resend_interval", "ends_ahead"}));
    if (st.ok()) st = ReadUrl(m, &k->url);
    if (st.ok() && m.Find("resend_interval")) {
      st =
          ReadDuration(*m.Find("resend_interval"), "resend_interval", 1000, &k->resend_interval_ms);
    }
    if (st.ok() && m.Find("ends_ahead")) {
      st = ReadDuration(*m.Find("ends_ahead"), "ends_ahead", 1000, &k->ends_ahead_ms);
    }
    if (st.ok() && k->ends_ahead_ms <= k->resend_interval_ms) {
      st = ErrorAt(m.pos(),
                   "ends_ahead must be longer than resend_interval, or alerts expire "
                   "in Alertmanager between re-sends");
    }
  } else if (k->type == "webhook") {
    k->notify_only = true;
    st = m.CheckAllowed(Keys(http, {"type", "notify_only", "secret"}));
    if (st.ok()) st = ReadUrl(m, &k->url);
    if (st.ok())
      st = m.Require("secret", "the HMAC key, e.g. secret: \"${file:/etc/aw/hook.key}\"");
    if (st.ok()) st = ReadString(*m.Find("secret"), "secret", &k->secret);
    if (st.ok()) st = ExpandSecret(*m.Find("secret"), base, &k->secret);
    if (st.ok() && k->secret.size() < 16) {
      st = ErrorAt(m.Find("secret")->value_pos, "secret must be at least 16 bytes");
    }
  } else {  // kafka
    st = m.CheckAllowed({"type", "notify_only", "brokers", "client_id", "properties", "topic"});
    if (st.ok()) st = ReadKafka(m, base, &k->kafka);
    if (st.ok()) st = m.Require("topic", "the topic for transitions, e.g. topic: aw.alerts");
    if (st.ok()) st = ReadString(*m.Find("topic"), "topic", &k->topic);
  }
  if (st.ok() && m.Find("notify_only")) {
    st = ReadBool(*m.Find("notify_only"), "notify_only", &k->notify_only);
  }
  if (st.ok() && m.Find("timeout")) {
    st = ReadDuration(*m.Find("timeout"), "timeout", 1, &k->timeout_ms);
  }
  if (st.ok() && m.Find("max_attempts")) {
    st = ReadInteger(*m.Find("max_attempts"), "max_attempts", 1, 100, &k->max_attempts);
  }
  if (st.ok() && m.Find("queue")) {
    st = ReadInteger(*m.Find("queue"), "queue", 1, 10'000'000, &k->queue_capacity);
  }
  return st;
}

Status ReadHttp(const std::string& file, const Entry& e, DaemonConfig* c) {
  MapView m;
  Status s = MapView::Make(file, e.value, e.value_pos, "http", &m);
  if (s.ok()) s = m.CheckAllowed({"listen", "enabled"});
  if (s.ok() && m.Find("enabled")) s = ReadBool(*m.Find("enabled"), "enabled", &c->http_enabled);
  if (!s.ok() || !m.Find("listen")) return s;
  std::string listen;
  const Entry* l = m.Find("listen");
  s = ReadString(*l, "listen of http", &listen);
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (s.ok() && colon != std::string::npos && colon > 0) {
    try {
      size_t used = 0;
      port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (s.ok() && (port < 0 || port > 65535)) {
    s = ErrorAt(l->value_pos,
                "listen must be host:port, e.g. 127.0.0.1:9464, got " + Quote(listen));
  }
  if (s.ok()) {
    c->http_address = listen.substr(0, colon);
    c->http_port = static_cast<uint16_t>(port);
  }
  return s;
}

// A size in bytes: an integer, or an integer followed by B, KiB, MiB or GiB ("64MiB").
Status ReadByteSize(const Entry& e, std::string_view what, int64_t min, int64_t max, int64_t* out) {
  const std::string bad = std::string(what) +
                          " must be a size in bytes, e.g. 65536 or 64KiB (units: B, KiB, MiB, "
                          "GiB)";
  if (!e.value.IsScalar()) return ErrorAt(e.value_pos, bad);
  const std::string text = e.value.Scalar();
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return ErrorAt(e.value_pos, bad + ", got " + Quote(text));
  std::string unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  int64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = int64_t{1} << 10;
  } else if (unit == "MiB") {
    scale = int64_t{1} << 20;
  } else if (unit == "GiB") {
    scale = int64_t{1} << 30;
  } else {
    return ErrorAt(e.value_pos, bad + ", got " + Quote(text));
  }
  const int64_t n = std::stoll(text.substr(0, digits));
  if (n > max / scale || n * scale < min) {
    return ErrorAt(e.value_pos, std::string(what) + " must be between " + std::to_string(min) +
                                    " and " + std::to_string(max) + " bytes, got " + Quote(text));
  }
  *out = n * scale;
  return Status::Ok();
}

Status ReadReview(const std::string& file, const Entry& e, const std::filesystem::path& base,
                  const StateConfig& state, ReviewConfig* r) {
  MapView m;
  Status s = MapView::Make(file, e.value, e.value_pos, "review", &m);
  if (s.ok()) {
    s = m.CheckAllowed({"enabled", "store", "path", "postgres", "postgres_file", "tokens",
                        "four_eyes", "max_evidence_bytes", "evidence_buffer", "page"});
  }
  r->enabled = true;
  if (s.ok() && m.Find("enabled")) s = ReadBool(*m.Find("enabled"), "enabled", &r->enabled);
  if (s.ok() && m.Find("store")) {
    s = ReadString(*m.Find("store"), "store", &r->store);
    if (s.ok() && r->store != "sqlite" && r->store != "postgresql") {
      s = ErrorAt(m.Find("store")->value_pos,
                  "store must be sqlite or postgresql, got " + Quote(r->store));
    }
  }
  if (s.ok() && m.Find("four_eyes")) {
    s = ReadBool(*m.Find("four_eyes"), "four_eyes", &r->four_eyes);
  }
  if (s.ok() && m.Find("page")) s = ReadBool(*m.Find("page"), "page", &r->page);
  if (s.ok() && m.Find("max_evidence_bytes")) {
    s = ReadByteSize(*m.Find("max_evidence_bytes"), "max_evidence_bytes", 1, int64_t{1} << 30,
                     &r->max_evidence_bytes);
  }
  if (s.ok() && m.Find("evidence_buffer")) {
    s = ReadByteSize(*m.Find("evidence_buffer"), "evidence_buffer", 0, int64_t{64} << 30,
                     &r->evidence_buffer_bytes);
  }
  if (s.ok() && m.Find("tokens")) {
    s = ReadString(*m.Find("tokens"), "tokens", &r->tokens);
    if (s.ok() && r->tokens.empty()) s = ErrorAt(m.Find("tokens")->value_pos, "tokens is empty");
    r->tokens = Resolve(base, r->tokens);
  }
  if (s.ok() && r->enabled && r->tokens.empty()) {
    s = m.Require("tokens",
                  "the bearer token file, e.g. tokens: /etc/abusewatch/review.tokens (make "
                  "tokens with `abusewatch token new`)");
  }
  const bool sqlite = r->store == "sqlite";
  if (s.ok() && m.Find("path")) {
    if (!sqlite) {
      s = ErrorAt(m.Find("path")->key_pos, "path is for store: sqlite (this store is " + r->store +
                                               ": use postgres or postgres_file)");
    } else {
      s = ReadString(*m.Find("path"), "path of review", &r->path);
      if (s.ok() && r->path.empty()) s = ErrorAt(m.Find("path")->value_pos, "path is empty");
      r->path = Resolve(base, r->path);
    }
  }
  if (s.ok() && sqlite && r->path.empty()) {
    if (!state.dir.empty()) {
      // Beside the state directory, not in it: RocksDB refuses a directory holding other
      // files, and --state-rebuild empties it.
      std::filesystem::path dir(state.dir);
      if (!dir.has_filename()) dir = dir.parent_path();  // "state/"
      r->path = (dir.parent_path() / "review.sqlite").string();
    } else if (r->enabled) {
      s = m.Require("path",
                    "the SQLite file of the review store, e.g. path: review.sqlite (the default, "
                    "review.sqlite beside state.dir, needs a state section)");
    }
  }
  for (const char* k : {"postgres", "postgres_file"}) {
    if (s.ok() && sqlite && m.Find(k)) {
      s = ErrorAt(m.Find(k)->key_pos,
                  std::string(k) + " is for store: postgresql (this store is sqlite)");
    }
  }
  if (s.ok() && m.Find("postgres") && m.Find("postgres_file")) {
    s = ErrorAt(m.Find("postgres_file")->key_pos,
                "give either postgres or postgres_file, not both");
  }
  if (s.ok() && m.Find("postgres")) {
    s = ReadString(*m.Find("postgres"), "postgres", &r->postgres);
    if (s.ok() && r->postgres.empty()) {
      s = ErrorAt(m.Find("postgres")->value_pos, "postgres is empty");
    }
  }
  if (s.ok() && m.Find("postgres_file")) {
    const Entry& f = *m.Find("postgres_file");
    s = ReadString(f, "postgres_file", &r->postgres_file);
    if (s.ok()) {
      r->postgres_file = Resolve(base, r->postgres_file);
      std::ifstream in(r->postgres_file, std::ios::binary);
      std::ostringstream data;
      if (in) data << in.rdbuf();
      r->postgres = data.str();
      while (!r->postgres.empty() && (r->postgres.back() == '\n' || r->postgres.back() == '\r')) {
        r->postgres.pop_back();
      }
      if (!in) {
        s = ErrorAt(f.value_pos, "cannot read postgres_file " + Quote(r->postgres_file));
      } else if (r->postgres.empty()) {
        s = ErrorAt(f.value_pos, "postgres_file " + Quote(r->postgres_file) + " is empty");
      }
    }
  }
  if (s.ok() && !sqlite && r->postgres.empty()) {
    s = m.Require("postgres",
                  "the libpq conninfo, e.g. postgres: \"host=db dbname=abusewatch\", or "
                  "postgres_file: /etc/abusewatch/review.conninfo");
  }
  return s;
}

}  // namespace

Status LoadDaemonConfig(const std::string& path, DaemonConfig* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ":1:1: cannot read config file");
  std::ostringstream text;
  text << in.rdbuf();
  YAML::Node root;
  if (Status s = config_internal::ParseYamlDocument(text.str(), path, &root); !s.ok()) return s;
  MapView top;
  if (Status s = MapView::Make(path, root, SourcePos{path, 1, 1}, "the top level", &top); !s.ok()) {
    return s;
  }
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  DaemonConfig c;
  c.sinks.push_back(SinkConfig{});
  if (const Entry* e = top.Find("sources")) {
    Status s = ForEachMap(path, *e, "source", [&](const MapView& m) {
      c.sources.emplace_back();
      return ReadSource(m, base, &c.sources.back());
    });
    if (!s.ok()) return s;
  }
  if (const Entry* e = top.Find("sinks")) {
    c.sinks.clear();
    Status s = ForEachMap(path, *e, "sink", [&](const MapView& m) {
      c.sinks.emplace_back();
      return ReadSink(m, base, &c.sinks.back());
    });
    if (!s.ok()) return s;
  }
  if (const Entry* e = top.Find("dead_letter")) {
    MapView m;
    DeadLetterConfig& d = c.dead_letter;
    Status s = MapView::Make(path, e->value, e->value_pos, "dead_letter", &m);
    if (s.ok()) s = Type(m, {"file", "kafka"}, &d.type);
    if (s.ok() && d.type == "file") {
      s = m.CheckAllowed({"type", "path"});
      if (s.ok()) s = m.Require("path", "the JSON Lines file for rejected records");
      if (s.ok()) s = ReadString(*m.Find("path"), "path of dead_letter", &d.path);
      d.path = Resolve(base, d.path);
    } else if (s.ok()) {
      s = m.CheckAllowed({"type", "brokers", "client_id", "properties", "topic"});
      if (s.ok()) s = ReadKafka(m, base, &d.kafka);
      if (s.ok()) s = m.Require("topic", "the dead-letter topic, e.g. topic: aw.rejects");
      if (s.ok()) s = ReadString(*m.Find("topic"), "topic", &d.topic);
    }
    if (!s.ok()) return s;
    c.has_dead_letter = true;
  }
  if (const Entry* e = top.Find("http")) {
    if (Status s = ReadHttp(path, *e, &c); !s.ok()) return s;
  }
  if (const Entry* e = top.Find("decode_threads")) {
    int64_t n = -1;  // auto
    if (!(e->value.IsScalar() && e->value.Scalar() == "auto")) {
      Status s = ReadInteger(*e, "decode_threads (a number of threads, or auto)", 0, 64, &n);
      if (!s.ok()) return s;
    }
    c.decode_threads = static_cast<int>(n);
  }
  if (const Entry* e = top.Find("state")) {
    MapView m;
    StateConfig& st = c.state;
    Status s = MapView::Make(path, e->value, e->value_pos, "state", &m);
    if (s.ok()) {
      s = m.CheckAllowed({"dir", "checkpoint_interval", "on_rules_change", "max_hot_keys",
                          "lane_restore_timeout"});
    }
    if (s.ok() && m.Find("lane_restore_timeout")) {
      s = ReadDuration(*m.Find("lane_restore_timeout"), "lane_restore_timeout", 1,
                       &st.lane_restore_timeout_ms);
    }
    if (s.ok() && m.Find("max_hot_keys")) {
      s = ReadInteger(*m.Find("max_hot_keys"), "max_hot_keys", 0, INT64_MAX, &st.max_hot_keys);
    }
    if (s.ok()) s = m.Require("dir", "the state directory, e.g. dir: /var/lib/abusewatch/state");
    if (s.ok()) s = ReadString(*m.Find("dir"), "dir of state", &st.dir);
    if (s.ok()) st.dir = Resolve(base, st.dir);
    if (s.ok() && m.Find("checkpoint_interval")) {
      s = ReadDuration(*m.Find("checkpoint_interval"), "checkpoint_interval", 1,
                       &st.checkpoint_interval_ms);
    }
    if (s.ok() && m.Find("on_rules_change")) {
      const Entry& o = *m.Find("on_rules_change");
      s = ReadString(o, "on_rules_change", &st.on_rules_change);
      if (s.ok() && st.on_rules_change != "refuse" && st.on_rules_change != "keep_unchanged" &&
          st.on_rules_change != "rebuild") {
        s = Status::InvalidArgument(o.value_pos.ToString() +
                                    ": on_rules_change must be refuse, keep_unchanged or rebuild");
      }
    }
    if (!s.ok()) return s;
  }
  if (const Entry* e = top.Find("review")) {
    if (Status s = ReadReview(path, *e, base, c.state, &c.review); !s.ok()) return s;
  }
  *out = std::move(c);
  return Status::Ok();
}

std::string DescribeDaemonConfig(const DaemonConfig& c) {
  std::string out;
  for (const SourceConfig& s : c.sources) {
    if (s.type == "file") {
      out += "source file " + s.path + (s.follow ? " (follow)" : "") + "\n";
    } else {
      out += "source kafka " + s.kafka.brokers + " group " + s.group + " topics";
      for (const std::string& t : s.topics) out += " " + t;
      out += "\n";
    }
  }
  for (const SinkConfig& k : c.sinks) {
    out += "sink " + k.type;
    if (k.type == "file") out += " " + k.path;
    if (k.type == "alertmanager" || k.type == "webhook") out += " " + k.url;
    if (k.type == "kafka") out += " " + k.kafka.brokers + " topic " + k.topic;
    out += k.notify_only ? " (notify rules only)\n" : "\n";
  }
  if (c.has_dead_letter) {
    out += "dead_letter " + c.dead_letter.type + " " +
           (c.dead_letter.type == "file"
                ? c.dead_letter.path
                : c.dead_letter.kafka.brokers + " topic " + c.dead_letter.topic) +
           "\n";
  }
  out += c.http_enabled ? "http " + c.http_address + ":" + std::to_string(c.http_port) + "\n"
                        : std::string("http disabled\n");
  if (c.decode_threads != 0) {
    out += "decode_threads " +
           (c.decode_threads < 0 ? std::string("auto") : std::to_string(c.decode_threads)) + "\n";
  }
  out += c.state.dir.empty()
             ? std::string("state none (a restart starts empty)\n")
             : "state " + c.state.dir + " every " + std::to_string(c.state.checkpoint_interval_ms) +
                   " ms, on rules change: " + c.state.on_rules_change +
                   (c.state.max_hot_keys > 0
                        ? ", at most " + std::to_string(c.state.max_hot_keys) + " keys in memory"
                        : std::string()) +
                   "\n";
  const ReviewConfig& r = c.review;
  if (r.enabled) {
    // The conninfo may hold a password: never shown.
    out += "review " + r.store + " " +
           (r.store == "sqlite" ? r.path
                                : (r.postgres_file.empty() ? std::string("(conninfo in config)")
                                                           : "conninfo from " + r.postgres_file)) +
           ", tokens " + r.tokens + (r.four_eyes ? ", four-eyes" : "") + ", evidence buffer " +
           std::to_string(r.evidence_buffer_bytes) + " bytes, max evidence " +
           std::to_string(r.max_evidence_bytes) + " bytes" + (r.page ? ", page /review/" : "") +
           "\n";
  }
  return out;
}

}  // namespace abusewatch
