// Bearer tokens of the review API (daemon/review/auth.h).
#include "daemon/review/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace abusewatch {
namespace {

using Code = AuthResult::Code;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/aw-auth-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `text` to dir/name with `mode`; returns the path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
    }
    chmod(tmp.c_str(), mode);
    std::filesystem::rename(tmp, path);  // atomic, as an operator's editor or config tool would
    return path;
  }

  static std::string NewToken() {
    std::string token;
    const Status s = GenerateToken(&token);
    EXPECT_TRUE(s.ok()) << s.message();
    return token;
  }

  std::string dir_;
};

TEST_F(AuthTest, GeneratedTokensHaveTheDocumentedShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string token = NewToken();
    ASSERT_EQ(token.size(), 46u) << token;
    EXPECT_EQ(token.substr(0, 3), "aw_");
    for (char c : token.substr(3)) {
      EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
    }
    EXPECT_TRUE(seen.insert(token).second) << "duplicate token";
  }
  // The hash is SHA-256 of the token's bytes, in lower-case hex.
  EXPECT_EQ(TokenHash("test"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST_F(AuthTest, RolesAndAllows) {
  Role r;
  ASSERT_TRUE(ParseRole("viewer", &r));
  EXPECT_EQ(r, Role::kViewer);
  ASSERT_TRUE(ParseRole("reviewer", &r));
  EXPECT_EQ(r, Role::kReviewer);
  ASSERT_TRUE(ParseRole("admin", &r));
  EXPECT_EQ(r, Role::kAdmin);
  EXPECT_FALSE(ParseRole("Admin", &r));
  EXPECT_FALSE(ParseRole("root", &r));
  EXPECT_FALSE(ParseRole("", &r));
  for (Role role : {Role::kViewer, Role::kReviewer, Role::kAdmin}) {
    Role back;
    ASSERT_TRUE(ParseRole(RoleName(role), &back));
    EXPECT_EQ(back, role);
  }
  EXPECT_TRUE(Allows(Role::kViewer, Role::kViewer));
  EXPECT_FALSE(Allows(Role::kViewer, Role::kReviewer));
  EXPECT_FALSE(Allows(Role::kViewer, Role::kAdmin));
  EXPECT_TRUE(Allows(Role::kReviewer, Role::kViewer));
  EXPECT_TRUE(Allows(Role::kReviewer, Role::kReviewer));
  EXPECT_FALSE(Allows(Role::kReviewer, Role::kAdmin));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kViewer));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kReviewer));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kAdmin));
}

TEST_F(AuthTest, LoadsCommentsBlankLinesTabsAndCrlf) {
  const std::string alice = NewToken();
  const std::string bob = NewToken();
  const std::string carol = NewToken();
  std::string hash_upper = TokenHash(carol);
  for (size_t i = 7; i < hash_upper.size(); ++i) hash_upper[i] = toupper(hash_upper[i]);
  const std::string path = Write("tokens",
                                 "# review API tokens\n"
                                 "\n"
                                 "alice reviewer " +
                                     TokenHash(alice) +
                                     "\n"
                                     "   # indented comment\n"
                                     "\tbob\tviewer\t" +
                                     TokenHash(bob) +
                                     "   # trailing comment\r\n"
                                     "ops.robot@example.org admin " +
                                     hash_upper);  // no final newline
  TokenStore store;
  std::string warning = "unset";
  const Status s = store.Load(path, &warning);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(warning, "");
  EXPECT_EQ(store.size(), 3u);

  AuthResult r = store.Authenticate("Bearer " + alice);
  ASSERT_EQ(r.code, Code::kOk);
  EXPECT_EQ(r.principal.name, "alice");
  EXPECT_EQ(r.principal.role, Role::kReviewer);
  r = store.Authenticate("Bearer " + bob);
  ASSERT_EQ(r.code, Code::kOk);
  EXPECT_EQ(r.principal.name, "bob");
  EXPECT_EQ(r.principal.role, Role::kViewer);
  r = store.Authenticate("Bearer " + carol);
  ASSERT_EQ(r.code, Code::kOk);
  EXPECT_EQ(r.principal.name, "ops.robot@example.org");
  EXPECT_EQ(r.principal.role, Role::kAdmin);
  std::vector<Principal> list = store.List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "alice");
  EXPECT_EQ(list[2].role, Role::kAdmin);
}

TEST_F(AuthTest, ParseErrorsNameFileAndLine) {
  const std::string h1 = TokenHash("one");
  const std::string h2 = TokenHash("two");
  struct Case {
    std::string text;
    int line;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"# c\n\nalice reviewer\n", 3, "expected 3 fields"},
      {"alice reviewer " + h1 + " extra\n", 1, "expected 3 fields"},
      {"alice superuser " + h1 + "\n", 1, "unknown role \"superuser\""},
      {"alice Reviewer " + h1 + "\n", 1, "unknown role"},
      {"alice viewer sha256:abc\n", 1, "64 hex digits"},
      {"alice viewer " + h1.substr(7) + "\n", 1, "64 hex digits"},  // no sha256: prefix
      {"alice viewer aw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 1, "not the token itself"},
      {"alice viewer sha256:" + std::string(63, 'a') + "g\n", 1, "64 hex digits"},
      {"alice viewer " + h1 + "\n\nalice admin " + h2 + "\n", 3,
       "duplicate name \"alice\" (first on line 1)"},
      {"alice viewer " + h1 + "\nbob admin " + h1 + "\n", 2, "same token hash as line 1"},
      {"al/ice viewer " + h1 + "\n", 1, "invalid name"},
      {std::string(129, 'n') + " viewer " + h1 + "\n", 1, "invalid name"},
  };
  for (const Case& c : cases) {
    const std::string path = Write("bad", c.text);
    TokenStore store;
    const Status s = store.Load(path);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    const std::string prefix = path + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(s.message().substr(0, prefix.size()), prefix) << s.message();
    EXPECT_NE(s.message().find(c.contains), std::string::npos) << s.message();
    EXPECT_EQ(store.size(), 0u);
  }
  TokenStore store;
  const Status s = store.Load(dir_ + "/missing");
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find(dir_ + "/missing"), std::string::npos) << s.message();
}

TEST_F(AuthTest, PermissionsAndEmptyFileWarnButLoad) {
  const std::string token = NewToken();
  TokenStore store;
  std::string warning;
  ASSERT_TRUE(
      store.Load(Write("t644", "a viewer " + TokenHash(token) + "\n", 0644), &warning).ok());
  EXPECT_NE(warning.find("0644"), std::string::npos) << warning;
  EXPECT_NE(warning.find("chmod 600"), std::string::npos) << warning;
  EXPECT_EQ(store.Authenticate("Bearer " + token).code, Code::kOk);
  ASSERT_TRUE(
      store.Load(Write("t666", "a viewer " + TokenHash(token) + "\n", 0666), &warning).ok());
  EXPECT_NE(warning.find("WRITE"), std::string::npos) << warning;
  ASSERT_TRUE(store.Load(Write("empty", "# nobody yet\n"), &warning).ok());
  EXPECT_NE(warning.find("no token entries"), std::string::npos) << warning;
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.Authenticate("Bearer " + token).code, Code::kUnknown);
}

TEST_F(AuthTest, AuthorizationHeaderForms) {
  const std::string token = NewToken();
  TokenStore store;
  ASSERT_TRUE(store.Load(Write("tokens", "alice admin " + TokenHash(token) + "\n")).ok());

  for (const std::string& ok :
       {"Bearer " + token, "bearer " + token, "BEARER " + token, "bEaReR " + token,
        "  Bearer    " + token + "   ", "Bearer\t" + token, "\tBearer " + token + "\t"}) {
    const AuthResult r = store.Authenticate(ok);
    EXPECT_EQ(r.code, Code::kOk) << "[" << ok << "]";
    EXPECT_EQ(r.principal.name, "alice");
  }
  for (const std::string& missing : {std::string(), std::string("   "), std::string("\t")}) {
    EXPECT_EQ(store.Authenticate(missing).code, Code::kMissing) << "[" << missing << "]";
  }
  for (const std::string& malformed : std::vector<std::string>{
           std::string("Bearer"), std::string("Bearer   "), "Basic " + token, "Token " + token,
           "Bearer" + token, "Bearer " + token + " " + token, "Bearer " + token + " extra",
           "Bearer tok,en", "Bearer tok\"en", "Bearer =abc", "Bearer ab=c", token,
           "Bearer " + token.substr(0, 10) + "\n" + token.substr(10)}) {
    EXPECT_EQ(store.Authenticate(malformed).code, Code::kMalformed) << "[" << malformed << "]";
  }
  // Well-formed but not in the file: unknown; so is a token that differs in one character,
  // a prefix of it, its hash, or the token with padding.
  std::string changed = token;
  changed.back() = changed.back() == 'A' ? 'B' : 'A';
  for (const std::string& unknown : {NewToken(), changed, token.substr(0, token.size() - 1),
                                     token + "=", std::string("aw_"), std::string("x")}) {
    EXPECT_EQ(store.Authenticate("Bearer " + unknown).code, Code::kUnknown) << unknown;
  }
  // Unknown carries no principal.
  const AuthResult r = store.Authenticate("Bearer " + changed);
  EXPECT_TRUE(r.principal.name.empty());
}

TEST_F(AuthTest, ReloadKeepsTheOldSetWhenTheNewFileIsInvalid) {
  const std::string t1 = NewToken();
  const std::string t2 = NewToken();
  TokenStore store;
  EXPECT_EQ(store.Reload().code(), Status::Code::kInvalidArgument);  // nothing loaded yet
  const std::string path = Write("tokens", "one viewer " + TokenHash(t1) + "\n");
  ASSERT_TRUE(store.Load(path).ok());
  EXPECT_EQ(store.Authenticate("Bearer " + t1).code, Code::kOk);

  Write("tokens", "one viewer " + TokenHash(t1) + "\ntwo admin not-a-hash\n");
  Status s = store.Reload();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(path + ":2: "), std::string::npos) << s.message();
  EXPECT_EQ(store.Authenticate("Bearer " + t1).code, Code::kOk);  // old set kept
  EXPECT_EQ(store.size(), 1u);

  std::filesystem::remove(path);
  EXPECT_EQ(store.Reload().code(), Status::Code::kIoError);
  EXPECT_EQ(store.Authenticate("Bearer " + t1).code, Code::kOk);

  Write("tokens", "two admin " + TokenHash(t2) + "\n");
  s = store.Reload();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(store.Authenticate("Bearer " + t1).code, Code::kUnknown);  // revoked
  const AuthResult r = store.Authenticate("Bearer " + t2);
  ASSERT_EQ(r.code, Code::kOk);
  EXPECT_EQ(r.principal.name, "two");
  EXPECT_EQ(r.principal.role, Role::kAdmin);

  // A failed Load() of another path does not change which path Reload() reads.
  EXPECT_FALSE(store.Load(dir_ + "/missing").ok());
  EXPECT_TRUE(store.Reload().ok());
}

// Readers authenticate without pause while a writer rewrites and reloads the file: every
// answer is one the old or the new set gives, never a torn or a failed state. Meant for the
// sanitizer builds too (ASan catches a use of a freed set).
TEST_F(AuthTest, ConcurrentAuthenticateDuringReload) {
  const std::string stable = NewToken();  // in every valid version, role changes
  const std::string a_only = NewToken();
  const std::string b_only = NewToken();
  const std::string file_a =
      "stable viewer " + TokenHash(stable) + "\na admin " + TokenHash(a_only) + "\n";
  std::string file_b = "stable reviewer " + TokenHash(stable) + "\n";
  for (int i = 0; i < 50; ++i) {  // a bigger set, so that swaps free something sizeable
    file_b += "filler" + std::to_string(i) + " viewer " + TokenHash(std::to_string(i)) + "\n";
  }
  file_b += "b reviewer " + TokenHash(b_only) + "\n";
  const std::string invalid = "stable admin " + TokenHash(stable) + "\nbroken\n";
  TokenStore store;
  const std::string path = Write("tokens", file_a);
  ASSERT_TRUE(store.Load(path).ok());

  constexpr int kReaders = 4;
  constexpr int kReloads = 300;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<long> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&] {
      long n = 0;
      while (!done.load(std::memory_order_relaxed) || n < 1000) {
        const AuthResult s = store.Authenticate("Bearer " + stable);
        if (s.code != Code::kOk || s.principal.name != "stable" ||
            s.principal.role == Role::kAdmin) {
          ++bad;  // the invalid file's role must never be seen
        }
        const AuthResult a = store.Authenticate("Bearer " + a_only);
        if (!(a.code == Code::kUnknown || (a.code == Code::kOk && a.principal.name == "a" &&
                                           a.principal.role == Role::kAdmin))) {
          ++bad;
        }
        const AuthResult b = store.Authenticate("Bearer " + b_only);
        if (!(b.code == Code::kUnknown || (b.code == Code::kOk && b.principal.name == "b"))) {
          ++bad;
        }
        if (store.Authenticate("Bearer " + NewToken()).code != Code::kUnknown) ++bad;
        ++n;
      }
      checks += n;
    });
  }
  int failed_reloads = 0;
  for (int i = 0; i < kReloads; ++i) {
    const int which = i % 3;
    Write("tokens", which == 0 ? file_b : which == 1 ? invalid : file_a);
    const Status s = store.Reload();
    if (which == 1) {
      EXPECT_FALSE(s.ok());
      ++failed_reloads;
    } else {
      EXPECT_TRUE(s.ok()) << s.message();
    }
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(failed_reloads, kReloads / 3);
  EXPECT_GE(checks.load(), kReaders * 1000L);
}

TEST_F(AuthTest, TokenNewPrintsTokenAndLine) {
  std::ostringstream out, err;
  ASSERT_EQ(RunTokenCommand({"new", "alice", "reviewer", ""}, out, err), 0) << err.str();
  std::string token = out.str();
  ASSERT_FALSE(token.empty());
  ASSERT_EQ(token.back(), '\n');
  token.pop_back();
  EXPECT_EQ(token.size(), 46u);
  EXPECT_EQ(token.find('\n'), std::string::npos);
  // The line on stderr, appended to a file, authenticates the token on stdout.
  const std::string line = "alice reviewer " + TokenHash(token) + "\n";
  EXPECT_NE(err.str().find(line), std::string::npos) << err.str();
  EXPECT_EQ(err.str().find(token), std::string::npos) << "the token must only go to stdout";
  TokenStore store;
  ASSERT_TRUE(store.Load(Write("tokens", err.str())).ok());  // the hint is a # comment
  const AuthResult r = store.Authenticate("Bearer " + token);
  ASSERT_EQ(r.code, Code::kOk);
  EXPECT_EQ(r.principal.role, Role::kReviewer);
}

TEST_F(AuthTest, TokenNewAppend) {
  const std::string path = dir_ + "/tokens";
  std::vector<std::string> tokens;
  for (const char* name : {"alice", "bob"}) {
    std::ostringstream out, err;
    ASSERT_EQ(RunTokenCommand({"new", name, name[0] == 'a' ? "admin" : "viewer", path}, out, err),
              0)
        << err.str();
    std::string token = out.str();
    token.pop_back();
    tokens.push_back(token);
    EXPECT_EQ(err.str().find("warning"), std::string::npos) << err.str();
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // created private
  TokenStore store;
  std::string warning;
  ASSERT_TRUE(store.Load(path, &warning).ok());
  EXPECT_EQ(warning, "");
  ASSERT_EQ(store.size(), 2u);
  EXPECT_EQ(store.Authenticate("Bearer " + tokens[0]).principal.role, Role::kAdmin);
  EXPECT_EQ(store.Authenticate("Bearer " + tokens[1]).principal.name, "bob");

  // A taken name: refused, file unchanged.
  std::ifstream before_in(path);
  const std::string before((std::istreambuf_iterator<char>(before_in)),
                           std::istreambuf_iterator<char>());
  std::ostringstream out, err;
  EXPECT_EQ(RunTokenCommand({"new", "bob", "admin", path}, out, err), 2);
  EXPECT_NE(err.str().find("already has \"bob\""), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty()) << "no token printed when nothing was appended";
  std::ifstream after_in(path);
  EXPECT_EQ(
      std::string((std::istreambuf_iterator<char>(after_in)), std::istreambuf_iterator<char>()),
      before);

  // An existing readable-by-others file without a final newline: warned, appended on a new
  // line.
  const std::string shared =
      Write("shared", "# shared\nalice viewer " + TokenHash("x"), /*mode=*/0644);
  std::ostringstream out2, err2;
  ASSERT_EQ(RunTokenCommand({"new", "carol", "reviewer", shared}, out2, err2), 0) << err2.str();
  EXPECT_NE(err2.str().find("warning"), std::string::npos) << err2.str();
  std::string carol = out2.str();
  carol.pop_back();
  ASSERT_TRUE(store.Load(shared).ok());
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.Authenticate("Bearer " + carol).principal.name, "carol");

  // An invalid file is not appended to.
  const std::string broken = Write("broken", "alice viewer nothash\n");
  std::ostringstream out3, err3;
  EXPECT_EQ(RunTokenCommand({"new", "dave", "viewer", broken}, out3, err3), 2);
  EXPECT_NE(err3.str().find(broken + ":1: "), std::string::npos) << err3.str();
}

TEST_F(AuthTest, TokenNewUsageErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(RunTokenCommand({"new", "alice", "root", ""}, out, err), 2);
  EXPECT_NE(err.str().find("--role"), std::string::npos);
  EXPECT_EQ(RunTokenCommand({"new", "", "viewer", ""}, out, err), 2);
  EXPECT_EQ(RunTokenCommand({"new", "a b", "viewer", ""}, out, err), 2);
  EXPECT_EQ(RunTokenCommand({"list", "a", "viewer", ""}, out, err), 2);
  EXPECT_EQ(RunTokenCommand({"new", "a", "viewer", dir_ + "/no/such/dir/tokens"}, out, err), 1);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace abusewatch
