#include "tests/review/test_db.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace abusewatch::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kSuperuser[] = "aw";

bool EnvIs(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v != nullptr && value == v;
}

bool Executable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

// The directory holding initdb and postgres, or "" (see test_db.h for the search order).
std::string PostgresBinDir() {
  const char* env = std::getenv("AW_PG_BINDIR");
  if (env != nullptr && *env != '\0') {  // exactly there, or nowhere
    const bool ok = Executable(fs::path(env) / "initdb") && Executable(fs::path(env) / "postgres");
    return ok ? env : "";
  }
  std::error_code ec;
  int best_version = -1;
  std::string best;
  for (const fs::directory_entry& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    const int version = std::atoi(name.c_str());
    const fs::path bin = e.path() / "bin";
    if (version > best_version && Executable(bin / "initdb") && Executable(bin / "postgres")) {
      best_version = version;
      best = bin.string();
    }
  }
  if (!best.empty()) return best;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && Executable(fs::path(dir) / "initdb") &&
        Executable(fs::path(dir) / "postgres")) {
      return dir;
    }
  }
  return "";
}

// The unprivileged account initdb and postgres run as when this process is root.
struct RunAs {
  bool needed = false;  // euid is 0
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

bool ResolveRunAs(RunAs* run_as, std::string* error) {
  run_as->needed = geteuid() == 0;
  if (!run_as->needed) return true;
  std::vector<std::string> candidates;
  const char* env = std::getenv("AW_PG_USER");
  if (env != nullptr && *env != '\0') {
    candidates.push_back(env);
  } else {
    candidates = {"postgres", "nobody"};
  }
  for (const std::string& name : candidates) {
    struct passwd pw;
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr &&
        found->pw_uid != 0) {
      run_as->name = name;
      run_as->uid = found->pw_uid;
      run_as->gid = found->pw_gid;
      return true;
    }
  }
  *error = "running as root, and none of the accounts {";
  for (const std::string& name : candidates) *error += " " + name;
  *error += " } exists (PostgreSQL refuses to run as root; set AW_PG_USER)";
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string TailLines(const std::string& text, int lines) {
  std::deque<std::string> tail;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += "  | " + l + "\n";
  return out;
}

// True when every directory from / down to `dir` lets others search it (the unprivileged
// account must reach its data directory).
bool SearchableByOthers(const fs::path& dir) {
  fs::path p;
  for (const fs::path& part : fs::absolute(dir)) {
    p /= part;
    struct stat st;
    if (stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
  }
  return true;
}

// Starts argv[0] (an absolute path) with stdin from /dev/null, stdout and stderr appended to
// `log` ("" for /dev/null), in a new session, as run_as when needed, with no other inherited
// descriptor. Returns the pid, or -1 with *error.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log, const RunAs& run_as,
            std::string* error) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls (the parent may have other threads).
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // A small fixed environment: C messages (start-up failures are recognized by their text),
  // UTC, no PG* variables of the caller.
  static char kLang[] = "LC_ALL=C";
  static char kTz[] = "TZ=UTC";
  static char kPath[] = "PATH=/usr/bin:/bin";
  char* envp[] = {kLang, kTz, kPath, nullptr};
  const int out = log.empty() ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                              : open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) {
    *error = "cannot open " + (log.empty() ? std::string("/dev/null") : log) + ": " +
             std::strerror(errno);
    if (out >= 0) close(out);
    if (in >= 0) close(in);
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    if (setsid() < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    // Nothing else is inherited: not the test's pipes (ctest would wait for their end), not
    // its sockets.
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    if (run_as.needed) {
      if (setgroups(0, nullptr) != 0 || setgid(run_as.gid) != 0 || setuid(run_as.uid) != 0) {
        _exit(125);
      }
    }
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  const int fork_errno = errno;
  close(out);
  close(in);
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(fork_errno);
    return -1;
  }
  return pid;
}

// Waits for a child; returns its exit status (128 + signal when killed, -1 on error).
int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A port that was free on 127.0.0.1 a moment ago (bound to port 0, then closed).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// chown -R (no symlinks are followed).
bool ChownTree(const fs::path& root, uid_t uid, gid_t gid) {
  if (lchown(root.c_str(), uid, gid) != 0) return false;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (lchown(it->path().c_str(), uid, gid) != 0) return false;
  }
  return !ec;
}

// What a cached cluster depends on: the server binary and the initdb arguments below.
std::string TemplateKey(const std::string& bin) {
  struct stat st {};
  stat((bin + "/postgres").c_str(), &st);
  return "v1 " + bin + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtime);
}

// The directory of this test binary, where the initdb result is cached ("" if unknown).
std::string TemplateCacheDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return "";
  return (exe.parent_path() / "pg-template").string();
}

// Creates dir/data: a copy of the cached cluster when there is one for these binaries (about
// 0.1 s instead of initdb's second), else initdb, whose result is then cached beside the test
// binary for the next processes. The cache is only an optimization: any failure there falls
// back to initdb.
bool InitCluster(const std::string& bin, const std::string& dir, const RunAs& run_as,
                 std::string* note, std::string* error) {
  const std::string data = dir + "/data";
  const std::string cache = TemplateCacheDir();
  const std::string key = TemplateKey(bin);
  int lock_fd = -1;
  if (!cache.empty() && !EnvIs("AW_PG_NO_TEMPLATE", "1")) {
    lock_fd = open((cache + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd >= 0 && flock(lock_fd, LOCK_EX) != 0) {
      close(lock_fd);
      lock_fd = -1;
    }
  }
  const auto unlock = [&] {
    if (lock_fd >= 0) close(lock_fd);  // releases the flock
    lock_fd = -1;
  };
  if (lock_fd >= 0 && ReadFile(cache + "/key") == key) {
    std::error_code ec;
    fs::copy(cache + "/data", data, fs::copy_options::recursive, ec);
    if (!ec && (!run_as.needed || ChownTree(data, run_as.uid, run_as.gid))) {
      unlock();
      *note = "copied from " + cache;
      return true;
    }
    fs::remove_all(data, ec);  // and initdb below
  }

  // Trust authentication (loopback and our own socket directory only), UTF-8, C locale.
  const std::string initdb_log = dir + "/initdb.log";
  pid_t pid = Spawn({bin + "/initdb", "-D", data, "-U", kSuperuser, "--auth=trust", "--no-sync",
                     "--encoding=UTF8", "--locale=C", "--no-instructions"},
                    initdb_log, run_as, error);
  if (pid < 0) {
    unlock();
    return false;
  }
  const int initdb_rc = WaitExit(pid);
  if (initdb_rc != 0) {
    unlock();
    *error = "initdb" + (run_as.needed ? " (as " + run_as.name + ")" : std::string()) + " exited " +
             std::to_string(initdb_rc) + ":\n" + TailLines(ReadFile(initdb_log), 30);
    return false;
  }
  *note = "initdb";
  if (lock_fd >= 0) {
    // Into a temporary directory, then renamed: a half-written cache is never used.
    const std::string tmp = cache + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directory(tmp, ec);
    if (!ec) fs::copy(data, tmp + "/data", fs::copy_options::recursive, ec);
    if (!ec) {
      std::ofstream(tmp + "/key", std::ios::binary | std::ios::trunc) << key;
      fs::remove_all(cache, ec);
      fs::rename(tmp, cache, ec);
    }
    if (ec) fs::remove_all(tmp, ec);
  }
  unlock();
  return true;
}

// The watchdog: stops the server (SIGQUIT, then SIGKILL) within ~1 s once the owner process
// is gone (a zombie counts as gone), then removes the directory when asked; exits quietly when
// the server ends first. Arguments: owner pid, server pid, directory, cleanup (1/0).
constexpr char kWatchdog[] = R"sh(
owner="$1"; server="$2"; dir="$3"; cleanup="$4"
alive() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  [[ "${s%% *}" != Z ]]
}
while alive "${owner}" && alive "${server}"; do sleep 1; done
alive "${owner}" && exit 0
kill -QUIT "${server}" 2>/dev/null
for _ in $(seq 1 50); do alive "${server}" || break; sleep 0.2; done
kill -KILL "${server}" 2>/dev/null
if [[ "${cleanup}" == 1 ]]; then sleep 0.5; rm -rf "${dir}"; fi
)sh";

class PostgresServer {
 public:
  // Starts a server (see test_db.h); nullptr with *error on failure.
  static std::unique_ptr<PostgresServer> Start(std::string* error);

  ~PostgresServer() { Stop(); }

  // Stops the server and the watchdog, removes the directory (unless $AW_PG_KEEP_DIR=1).
  void Stop();

  // A new database; *conninfo receives its connection string.
  Status CreateDatabase(std::string* conninfo);

 private:
  std::string Conninfo(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser +
           " dbname=" + dbname + " connect_timeout=10";
  }

  std::string dir_;
  pid_t server_pid_ = -1;
  pid_t watchdog_pid_ = -1;
  pid_t owner_pid_ = -1;
  int port_ = 0;
  int next_db_ = 0;
  std::unique_ptr<SqlDb> admin_;  // connected to "postgres", for CREATE DATABASE
};

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* error) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string bin = PostgresBinDir();
  if (bin.empty()) {
    *error =
        "PostgreSQL binaries (initdb, postgres) not found in $AW_PG_BINDIR, "
        "/usr/lib/postgresql/*/bin or $PATH (Debian: apt-get install postgresql)";
    return nullptr;
  }
  RunAs run_as;
  if (!ResolveRunAs(&run_as, error)) return nullptr;

  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  if (run_as.needed && !SearchableByOthers(base)) base = "/tmp";
  std::string templ = base + "/abusewatch-pg-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    *error = "mkdtemp(" + templ + "): " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer);
  server->dir_ = templ;
  server->owner_pid_ = getpid();
  const std::string& dir = server->dir_;
  if (run_as.needed && chown(dir.c_str(), run_as.uid, run_as.gid) != 0) {
    *error = "chown " + dir + " to " + run_as.name + ": " + std::strerror(errno);
    return nullptr;
  }

  // initdb, or a copy of the cluster a previous test process made with it.
  std::string initdb_note;
  if (!InitCluster(bin, dir, run_as, &initdb_note, error)) return nullptr;

  // postgres on a free port; another process may take the port between our probe and the
  // server's bind: then the server exits at once and we try another one.
  const std::string log = dir + "/postgres.log";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int attempt = 1;; ++attempt) {
    const int port = FreeLoopbackPort();
    if (port <= 0) {
      *error = std::string("no free loopback port: ") + std::strerror(errno);
      return nullptr;
    }
    server->port_ = port;
    const pid_t pid = Spawn({bin + "/postgres",
                             "-D",
                             dir + "/data",
                             "-p",
                             std::to_string(port),
                             "-c",
                             "listen_addresses=127.0.0.1",
                             "-c",
                             "unix_socket_directories=" + dir,
                             "-c",
                             "fsync=off",
                             "-c",
                             "full_page_writes=off",
                             "-c",
                             "synchronous_commit=off",
                             "-c",
                             "shared_buffers=32MB",
                             "-c",
                             "max_connections=100",
                             "-c",
                             "autovacuum=off",
                             "-c",
                             "log_min_messages=warning",
                             "-c",
                             "log_min_error_statement=panic"},
                            log, run_as, error);
    if (pid < 0) return nullptr;
    server->server_pid_ = pid;
    const std::string probe = server->Conninfo("postgres");
    bool retry = false;
    while (true) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        server->server_pid_ = -1;
        const std::string text = ReadFile(log);
        if (attempt < 5 && (text.find("Address already in use") != std::string::npos ||
                            text.find("could not bind") != std::string::npos)) {
          retry = true;
          break;
        }
        *error = "postgres exited during start-up (port " + std::to_string(port) +
                 "); postgres.log:\n" + TailLines(text, 30);
        return nullptr;
      }
      if (PQping(probe.c_str()) == PQPING_OK) break;
      if (std::chrono::steady_clock::now() > deadline) {
        *error = "postgres did not accept connections on 127.0.0.1:" + std::to_string(port) +
                 " within 60 s; postgres.log:\n" + TailLines(ReadFile(log), 30);
        return nullptr;  // the destructor stops it
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!retry) break;
  }

  const bool cleanup = !EnvIs("AW_PG_KEEP_DIR", "1");
  RunAs self;  // the watchdog runs as this process's user (it may have to kill as root)
  server->watchdog_pid_ =
      Spawn({"/bin/bash", "-c", kWatchdog, "aw-pg-watchdog", std::to_string(getpid()),
             std::to_string(server->server_pid_), dir, cleanup ? "1" : "0"},
            "", self, error);
  if (server->watchdog_pid_ < 0) return nullptr;

  Status s = OpenPostgresDb(server->Conninfo("postgres"), &server->admin_);
  if (!s.ok()) {
    *error = "connecting to the new server: " + s.ToString();
    return nullptr;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::fprintf(stderr, "[postgres] server ready on 127.0.0.1:%d in %lld ms (dir %s, %s%s)\n",
               server->port_, static_cast<long long>(ms), dir.c_str(), initdb_note.c_str(),
               run_as.needed ? (", running as " + run_as.name).c_str() : "");
  return server;
}

void PostgresServer::Stop() {
  // A forked child that calls exit() (a death test) runs atexit handlers too: not its server.
  if (getpid() != owner_pid_) return;
  admin_.reset();
  if (watchdog_pid_ > 0) {
    kill(-watchdog_pid_, SIGKILL);  // its session: bash and its sleep
    WaitExit(watchdog_pid_);
    watchdog_pid_ = -1;
  }
  if (server_pid_ > 0) {
    // Immediate shutdown: the data is thrown away anyway.
    kill(server_pid_, SIGQUIT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(server_pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(server_pid_, SIGKILL);
        WaitExit(server_pid_);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    server_pid_ = -1;
  }
  if (!dir_.empty()) {
    if (EnvIs("AW_PG_KEEP_DIR", "1")) {
      std::fprintf(stderr, "[postgres] kept %s\n", dir_.c_str());
    } else {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    dir_.clear();
  }
}

Status PostgresServer::CreateDatabase(std::string* conninfo) {
  const std::string name = "aw_test_" + std::to_string(next_db_++);
  Status s = admin_->ExecScript("CREATE DATABASE " + name);
  if (!s.ok()) return s;
  *conninfo = Conninfo(name);
  return Status::Ok();
}

struct Shared {
  std::mutex mu;
  bool tried = false;
  std::string error;
  std::unique_ptr<PostgresServer> server;
};

Shared& GetShared() {
  static Shared* shared = new Shared;  // never destroyed: stopped by the atexit hook
  return *shared;
}

void StopServerAtExit() {
  Shared& s = GetShared();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.server != nullptr) s.server->Stop();
}

// SQLite test databases live until the process exits (a test may reopen one by path); then
// they and their journal files go, so repeated runs do not fill the temporary directory.
struct SqliteFiles {
  std::mutex mu;
  std::vector<std::string> paths;
};

SqliteFiles& GetSqliteFiles() {
  static SqliteFiles* files = new SqliteFiles;  // never destroyed: emptied by the atexit hook
  return *files;
}

void RemoveSqliteFilesAtExit() {
  SqliteFiles& f = GetSqliteFiles();
  std::lock_guard<std::mutex> lock(f.mu);
  for (const std::string& path : f.paths) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ec;
      std::filesystem::remove(path + suffix, ec);
    }
  }
  f.paths.clear();
}

}  // namespace

std::vector<std::string> TestBackends() {
  static const std::vector<std::string>* backends = [] {
    auto* list = new std::vector<std::string>{"sqlite"};
    if (!PostgresBinDir().empty() || EnvIs("AW_REQUIRE_POSTGRES", "1")) {
      list->push_back("postgresql");
    } else {
      std::fprintf(stderr,
                   "\n"
                   "*****************************************************************************\n"
                   "* WARNING: PostgreSQL is not installed (no initdb/postgres found): the      *\n"
                   "* review tests run on SQLite ONLY. Install it (apt-get install postgresql)  *\n"
                   "* or set AW_PG_BINDIR; set AW_REQUIRE_POSTGRES=1 to make this an error.     *\n"
                   "*****************************************************************************\n"
                   "\n");
    }
    return list;
  }();
  return *backends;
}

Status OpenTestDb(const std::string& backend, std::unique_ptr<SqlDb>* db, std::string* where) {
  static std::atomic<int> counter{0};
  if (backend == "sqlite") {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::filesystem::path dir = tmp != nullptr ? tmp : std::filesystem::temp_directory_path();
    std::string path = (dir / ("aw-review-" + std::to_string(getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)) + ".sqlite"))
                           .string();
    std::filesystem::remove(path);
    {
      SqliteFiles& files = GetSqliteFiles();
      std::lock_guard<std::mutex> lock(files.mu);
      if (files.paths.empty()) std::atexit(RemoveSqliteFilesAtExit);
      files.paths.push_back(path);
    }
    if (where != nullptr) *where = path;
    return OpenSqliteDb(path, db);
  }
  if (backend == "postgresql") {
    Shared& shared = GetShared();
    std::string conninfo;
    {
      std::lock_guard<std::mutex> lock(shared.mu);
      if (!shared.tried) {
        shared.tried = true;
        shared.server = PostgresServer::Start(&shared.error);
        if (shared.server == nullptr) {
          shared.error =
              "POSTGRESQL TEST SERVER FAILED" +
              std::string(EnvIs("AW_REQUIRE_POSTGRES", "1") ? " (AW_REQUIRE_POSTGRES=1): " : ": ") +
              shared.error;
          std::fprintf(stderr, "[postgres] %s\n", shared.error.c_str());
        }
        std::atexit(StopServerAtExit);
      }
      if (shared.server == nullptr) return Status::IoError(shared.error);
      Status s = shared.server->CreateDatabase(&conninfo);
      if (!s.ok()) return s;
    }
    if (where != nullptr) *where = conninfo;
    return OpenPostgresDb(conninfo, db);
  }
  return Status::InvalidArgument("unknown test backend: " + backend);
}

Status ReopenTestDb(const std::string& backend, const std::string& where,
                    std::unique_ptr<SqlDb>* db) {
  if (backend == "sqlite") return OpenSqliteDb(where, db);
  if (backend == "postgresql") return OpenPostgresDb(where, db);
  return Status::InvalidArgument("unknown test backend: " + backend);
}

}  // namespace abusewatch::testing
