// deploy/kubernetes/: the manifests parsed and cross-checked (ports, probes, volumes, config,
// ServiceMonitor, PrometheusRule == the rules file); `kubectl kustomize` where kubectl exists.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/deploy/deploy_test_util.h"

namespace abusewatch::deploy_test {
namespace {

TEST(DeployKubernetes, ManifestsAreConsistent) {
  const fs::path k8s = kDeploy / "kubernetes";
  std::map<std::string, YAML::Node> by_kind;  // one of each (the second Service: by name)
  std::vector<YAML::Node> services;
  for (const auto& e : fs::directory_iterator(k8s)) {
    if (e.path().extension() != ".yaml" || e.path().filename() == "kustomization.yaml") continue;
    for (const YAML::Node& doc : YAML::LoadAllFromFile(e.path())) {
      ASSERT_TRUE(doc["apiVersion"] && doc["kind"] && doc["metadata"]["name"]) << e.path();
      const std::string kind = doc["kind"].as<std::string>();
      if (kind == "Service") services.push_back(doc);
      // Not by_kind[kind] = doc: assigning to an existing YAML::Node overwrites the node it
      // refers to (the Service already in `services`).
      by_kind.erase(kind);
      by_kind.emplace(kind, doc);
    }
  }
  for (const char* kind :
       {"StatefulSet", "ConfigMap", "Service", "ServiceMonitor", "PrometheusRule", "Namespace"}) {
    ASSERT_EQ(by_kind.count(kind), 1u) << kind;
  }
  // Every manifest is listed in the kustomization.
  const YAML::Node kust = YAML::LoadFile(k8s / "kustomization.yaml");
  std::set<std::string> listed;
  for (const auto& r : kust["resources"]) listed.insert(r.as<std::string>());
  for (const auto& e : fs::directory_iterator(k8s)) {
    if (e.path().extension() == ".yaml" && e.path().filename() != "kustomization.yaml") {
      EXPECT_EQ(listed.count(e.path().filename().string()), 1u) << e.path();
    }
  }

  const YAML::Node sts = by_kind["StatefulSet"];
  EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 1) << "see daemon/state/README.md Known limits";
  ASSERT_EQ(sts["spec"]["volumeClaimTemplates"].size(), 1u);
  const std::string claim =
      sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>();
  const YAML::Node pod = sts["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_GT(pod["terminationGracePeriodSeconds"].as<int>(), 10) << "the daemon flushes up to 10 s";
  const YAML::Node c = pod["containers"][0];
  std::map<std::string, std::string> mounts;
  for (const auto& m : c["volumeMounts"]) {
    mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
  }
  EXPECT_EQ(mounts[claim], "/var/lib/abusewatch");
  const std::string port_name = c["ports"][0]["name"].as<std::string>();
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 9464);
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  // The config file the container runs is in the ConfigMap's mount.
  std::string config_arg;
  for (size_t i = 0; i + 1 < c["args"].size(); ++i) {
    if (c["args"][i].as<std::string>() == "--config")
      config_arg = c["args"][i + 1].as<std::string>();
  }
  std::string config_volume;
  for (const auto& v : pod["volumes"]) {
    if (v["configMap"]) {
      EXPECT_EQ(v["configMap"]["name"].as<std::string>(),
                by_kind["ConfigMap"]["metadata"]["name"].as<std::string>());
      config_volume = v["name"].as<std::string>();
    }
  }
  ASSERT_FALSE(config_volume.empty());
  const fs::path mount = mounts[config_volume];
  ASSERT_EQ(fs::path(config_arg).parent_path(), mount) << config_arg;
  const YAML::Node data = by_kind["ConfigMap"]["data"];
  ASSERT_TRUE(data[fs::path(config_arg).filename().string()]) << config_arg;

  // The ConfigMap's files, laid out as mounted, pass check-config (the pack from the image:
  // /etc/abusewatch/packs, here the source tree's).
  TempDir dir;
  for (const auto& kv : data) {
    std::string text = kv.second.as<std::string>();
    const std::string image_pack = "/etc/abusewatch/packs/";
    for (size_t p; (p = text.find(image_pack)) != std::string::npos;) {
      text.replace(p, image_pack.size(), (kSource / "config/packs").string() + "/");
    }
    std::ofstream(dir.path / kv.first.as<std::string>()) << text;
  }
  const CmdResult r = RunCmd(
      {ABUSEWATCH_BINARY, "check-config", (dir.path / fs::path(config_arg).filename()).string()});
  EXPECT_EQ(r.code, 0) << r.output;
  const YAML::Node cfg =
      YAML::Load(data[fs::path(config_arg).filename().string()].as<std::string>());
  EXPECT_EQ(cfg["http"]["listen"].as<std::string>(), "0.0.0.0:9464");
  EXPECT_EQ(cfg["state"]["dir"].as<std::string>(), "/var/lib/abusewatch/state");

  // Services select the pods and name the container's port; the ServiceMonitor selects one.
  const YAML::Node pod_labels = sts["spec"]["template"]["metadata"]["labels"];
  const YAML::Node sm = by_kind["ServiceMonitor"];
  int monitored = 0;
  for (const auto& svc : services) {
    for (const auto& kv : svc["spec"]["selector"]) {
      EXPECT_EQ(pod_labels[kv.first.as<std::string>()].as<std::string>(""),
                kv.second.as<std::string>());
    }
    EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"].as<std::string>(), port_name);
    bool selected = true;
    for (const auto& kv : sm["spec"]["selector"]["matchLabels"]) {
      if (svc["metadata"]["labels"][kv.first.as<std::string>()].as<std::string>("") !=
          kv.second.as<std::string>()) {
        selected = false;
      }
    }
    if (selected) {
      ++monitored;
      EXPECT_EQ(svc["spec"]["ports"][0]["name"].as<std::string>(),
                sm["spec"]["endpoints"][0]["port"].as<std::string>());
    }
  }
  EXPECT_EQ(monitored, 1);
  EXPECT_EQ(sm["spec"]["endpoints"][0]["path"].as<std::string>(), "/metrics");

  // The PrometheusRule is the rules file.
  const YAML::Node rules = YAML::LoadFile(kDeploy / "prometheus/abusewatch-rules.yml");
  YAML::Emitter a, b;
  a << by_kind["PrometheusRule"]["spec"]["groups"];
  b << rules["groups"];
  EXPECT_EQ(std::string(a.c_str()), std::string(b.c_str()))
      << "regenerate deploy/kubernetes/prometheusrule.yaml (see its header)";
}

// `kubectl kustomize` (offline) renders the whole set; skipped without kubectl.
TEST(DeployKubernetes, KustomizeRendersEveryManifest) {
  const std::string kubectl = Which("kubectl");
  if (kubectl.empty()) GTEST_SKIP() << "kubectl not found: the manifests are only parsed";
  const CmdResult r = RunCmd({kubectl, "kustomize", (kDeploy / "kubernetes").string()});
  ASSERT_EQ(r.code, 0) << r.output;
  std::set<std::string> kinds;
  for (const YAML::Node& doc : YAML::LoadAll(r.output)) kinds.insert(doc["kind"].as<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ConfigMap", "Service", "StatefulSet",
                                          "ServiceMonitor", "PrometheusRule"}));
}

}  // namespace
}  // namespace abusewatch::deploy_test
