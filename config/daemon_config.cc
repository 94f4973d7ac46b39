#include "config/daemon_config.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/yaml_util.h"

namespace abusewatch {
namespace {

using config_internal::Entry;
using config_internal::ErrorAt;
using config_internal::MapView;
using config_internal::PosOf;
using config_internal::Quote;
using config_internal::ReadBool;
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
      SourceConfig sc;
      Status st = m.CheckAllowed({"type", "path", "follow"});
      if (st.ok()) st = Type(m, {"file"}, &sc.type);
      if (st.ok()) st = m.Require("path", "the JSON Lines file to read, or - for stdin");
      if (st.ok()) st = ReadString(*m.Find("path"), "path of source", &sc.path);
      if (st.ok() && m.Find("follow")) st = ReadBool(*m.Find("follow"), "follow", &sc.follow);
      sc.path = Resolve(base, sc.path);
      c.sources.push_back(sc);
      return st;
    });
    if (!s.ok()) return s;
  }
  if (const Entry* e = top.Find("sinks")) {
    c.sinks.clear();
    Status s = ForEachMap(path, *e, "sink", [&](const MapView& m) {
      SinkConfig k;
      Status st = m.CheckAllowed({"type", "path", "notify_only"});
      if (st.ok()) st = Type(m, {"stdout", "file"}, &k.type);
      if (st.ok() && k.type == "file") {
        st = m.Require("path", "the JSON Lines file to append transitions to");
        if (st.ok()) st = ReadString(*m.Find("path"), "path of sink", &k.path);
      }
      if (st.ok() && m.Find("notify_only")) {
        st = ReadBool(*m.Find("notify_only"), "notify_only", &k.notify_only);
      }
      k.path = Resolve(base, k.path);
      c.sinks.push_back(k);
      return st;
    });
    if (!s.ok()) return s;
  }
  if (const Entry* e = top.Find("dead_letter")) {
    MapView m;
    Status s = MapView::Make(path, e->value, e->value_pos, "dead_letter", &m);
    if (s.ok()) s = m.CheckAllowed({"type", "path"});
    std::string type;
    if (s.ok()) s = Type(m, {"file"}, &type);
    if (s.ok()) s = m.Require("path", "the JSON Lines file for rejected records");
    if (s.ok()) s = ReadString(*m.Find("path"), "path of dead_letter", &c.dead_letter_path);
    if (!s.ok()) return s;
    c.has_dead_letter = true;
    c.dead_letter_path = Resolve(base, c.dead_letter_path);
  }
  if (const Entry* e = top.Find("http")) {
    MapView m;
    Status s = MapView::Make(path, e->value, e->value_pos, "http", &m);
    if (s.ok()) s = m.CheckAllowed({"listen", "enabled"});
    if (s.ok() && m.Find("enabled")) s = ReadBool(*m.Find("enabled"), "enabled", &c.http_enabled);
    if (s.ok() && m.Find("listen")) {
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
        c.http_address = listen.substr(0, colon);
        c.http_port = static_cast<uint16_t>(port);
      }
    }
    if (!s.ok()) return s;
  }
  *out = std::move(c);
  return Status::Ok();
}

}  // namespace abusewatch
