#include "daemon/review/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

namespace abusewatch {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr std::string_view kTokenPrefix = "aw_";
constexpr std::string_view kHashPrefix = "sha256:";
constexpr size_t kMaxNameLength = 128;
constexpr off_t kMaxFileBytes = 1 << 20;

std::array<uint8_t, 32> Sha256(std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail short of memory exhaustion; then the all-zero digest
  // matches no entry (no token file holds it: it is not a SHA-256 output anyone can invert).
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    out.fill(0);
  }
  return out;
}

std::string Base64Url(const uint8_t* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseHash(std::string_view field, std::array<uint8_t, 32>* hash) {
  if (field.substr(0, kHashPrefix.size()) != kHashPrefix) return false;
  field.remove_prefix(kHashPrefix.size());
  if (field.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexDigit(field[2 * i]);
    const int lo = HexDigit(field[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*hash)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool IsToken68(std::string_view s) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  for (; i < s.size(); ++i) {
    if (s[i] != '=') return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Reads a regular file of at most kMaxFileBytes; *mode receives its permission bits.
Status ReadSmallFile(const std::string& path, std::string* text, mode_t* mode) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return Status::IoError(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::IoError(path + ": not a regular file");
  }
  if (st.st_size > kMaxFileBytes) {
    close(fd);
    return Status::InvalidArgument(path + ": larger than 1 MiB: not a token file");
  }
  *mode = st.st_mode;
  text->clear();
  char buf[16384];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      return Status::IoError(path + ": cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > static_cast<size_t>(kMaxFileBytes)) {
      close(fd);
      return Status::InvalidArgument(path + ": larger than 1 MiB: not a token file");
    }
  }
  close(fd);
  return Status::Ok();
}

std::string PermissionWarning(const std::string& path, mode_t mode) {
  if ((mode & 0077) == 0) return "";
  return path + ": mode " + ModeString(mode) + " lets " +
         ((mode & 0022) != 0 ? std::string("group or others WRITE it (anyone who can write it can "
                                           "add an admin token)")
                             : std::string("group or others read it")) +
         "; it should be 0600 (chmod 600 " + path + ")";
}

}  // namespace

bool Allows(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

Status GenerateToken(std::string* token) {
  uint8_t bytes[kTokenBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return Status::Internal("RAND_bytes failed: no token generated");
  }
  *token = std::string(kTokenPrefix) + Base64Url(bytes, sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return Status::Ok();
}

std::string TokenHash(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::array<uint8_t, 32> hash = Sha256(token);
  std::string out(kHashPrefix);
  for (uint8_t b : hash) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool ValidTokenName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

TokenStore::TokenStore() : entries_(std::make_shared<const Entries>()) {}
TokenStore::~TokenStore() = default;

Status TokenStore::Parse(std::string_view text, const std::string& source, Entries* entries) {
  entries->clear();
  std::map<std::string, int, std::less<>> name_lines;
  std::map<std::array<uint8_t, 32>, int> hash_lines;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t hash_mark = line.find('#');
    if (hash_mark != std::string_view::npos) line = line.substr(0, hash_mark);
    line = Trim(line);
    if (line.empty()) continue;
    const auto error = [&](const std::string& msg) {
      return Status::InvalidArgument(source + ":" + std::to_string(line_no) + ": " + msg);
    };
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && IsSpace(line[i])) ++i;
      size_t j = i;
      while (j < line.size() && !IsSpace(line[j])) ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.size() != 3) {
      return error("expected 3 fields \"name role sha256:<64 hex digits>\", found " +
                   std::to_string(fields.size()));
    }
    Entry entry;
    if (!ValidTokenName(fields[0])) {
      return error("invalid name \"" + std::string(fields[0]) +
                   "\" (1 to 128 of A-Z a-z 0-9 . _ @ + -)");
    }
    entry.name = std::string(fields[0]);
    if (!ParseRole(fields[1], &entry.role)) {
      return error("unknown role \"" + std::string(fields[1]) + "\" (viewer, reviewer or admin)");
    }
    if (!ParseHash(fields[2], &entry.hash)) {
      return error(
          "the third field must be sha256: followed by 64 hex digits (the token's hash, as "
          "printed by `abusewatch token new`), not the token itself");
    }
    if (auto it = name_lines.find(entry.name); it != name_lines.end()) {
      return error("duplicate name \"" + entry.name + "\" (first on line " +
                   std::to_string(it->second) + ")");
    }
    if (auto it = hash_lines.find(entry.hash); it != hash_lines.end()) {
      return error("the same token hash as line " + std::to_string(it->second));
    }
    name_lines.emplace(entry.name, line_no);
    hash_lines.emplace(entry.hash, line_no);
    entries->push_back(std::move(entry));
  }
  return Status::Ok();
}

Status TokenStore::Load(const std::string& path, std::string* warning) {
  if (warning != nullptr) warning->clear();
  std::string text;
  mode_t mode = 0;
  if (Status s = ReadSmallFile(path, &text, &mode); !s.ok()) return s;
  auto entries = std::make_shared<Entries>();
  if (Status s = Parse(text, path, entries.get()); !s.ok()) return s;
  if (warning != nullptr) {
    *warning = PermissionWarning(path, mode);
    if (entries->empty()) {
      if (!warning->empty()) *warning += "; ";
      *warning += path + ": no token entries: every request will be refused";
    }
  }
  std::shared_ptr<const Entries> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(entries_);
    entries_ = std::move(entries);
    path_ = path;
  }
  return Status::Ok();  // `old` is freed here, outside the lock
}

Status TokenStore::Reload(std::string* warning) {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = path_;
  }
  if (path.empty()) return Status::InvalidArgument("token file: nothing loaded yet to reload");
  return Load(path, warning);
}

AuthResult TokenStore::Authenticate(std::string_view header) const {
  AuthResult result;
  header = Trim(header);
  if (header.empty()) {
    result.code = AuthResult::Code::kMissing;
    return result;
  }
  size_t sep = 0;
  while (sep < header.size() && !IsSpace(header[sep])) ++sep;
  const std::string_view scheme = header.substr(0, sep);
  const std::string_view token = Trim(header.substr(sep));
  if (!EqualsIgnoreCase(scheme, "bearer") || token.empty() || !IsToken68(token)) {
    result.code = AuthResult::Code::kMalformed;
    return result;
  }
  const std::array<uint8_t, 32> hash = Sha256(token);
  std::shared_ptr<const Entries> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries = entries_;
  }
  // Every entry is compared, and the match is recorded without a branch on its outcome.
  size_t match = 0;
  size_t found = 0;  // all ones once an entry matched
  for (size_t i = 0; i < entries->size(); ++i) {
    const size_t equal =
        static_cast<size_t>(CRYPTO_memcmp(hash.data(), (*entries)[i].hash.data(), 32) == 0);
    const size_t mask = size_t{0} - equal;
    match = (match & ~mask) | (i & mask);
    found |= mask;
  }
  if (found == 0) {
    result.code = AuthResult::Code::kUnknown;
    return result;
  }
  result.code = AuthResult::Code::kOk;
  result.principal.name = (*entries)[match].name;
  result.principal.role = (*entries)[match].role;
  return result;
}

std::vector<Principal> TokenStore::List() const {
  std::shared_ptr<const Entries> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries = entries_;
  }
  std::vector<Principal> out;
  out.reserve(entries->size());
  for (const Entry& e : *entries) out.push_back(Principal{e.name, e.role});
  return out;
}

size_t TokenStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_->size();
}

int RunTokenCommand(const TokenCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.command != "new") {
    err << "abusewatch token: unknown command \"" << options.command << "\" (new)\n";
    return 2;
  }
  if (!ValidTokenName(options.name)) {
    err << "abusewatch token new: --name must be 1 to 128 of A-Z a-z 0-9 . _ @ + - (got \""
        << options.name << "\")\n";
    return 2;
  }
  Role role;
  if (!ParseRole(options.role, &role)) {
    err << "abusewatch token new: --role must be viewer, reviewer or admin (got \"" << options.role
        << "\")\n";
    return 2;
  }
  std::string token;
  if (Status s = GenerateToken(&token); !s.ok()) {
    err << "abusewatch token new: " << s.message() << "\n";
    return 1;
  }
  const std::string line =
      options.name + " " + std::string(RoleName(role)) + " " + TokenHash(token) + "\n";
  if (options.append.empty()) {
    out << token << "\n";
    out.flush();
    err << "# the token is shown once, above; add this line to the token file:\n" << line;
    return 0;
  }

  const std::string& path = options.append;
  struct stat st;
  const bool exists = stat(path.c_str(), &st) == 0;
  bool needs_newline = false;
  if (exists) {
    TokenStore existing;
    std::string warning;
    if (Status s = existing.Load(path, &warning); !s.ok()) {
      err << "abusewatch token new: " << s.message() << " (not appending to it)\n";
      return s.code() == Status::Code::kIoError ? 1 : 2;
    }
    for (const Principal& p : existing.List()) {
      if (p.name == options.name) {
        err << "abusewatch token new: " << path << " already has \"" << options.name
            << "\"; remove its line first to replace its token\n";
        return 2;
      }
    }
    const std::string perm = PermissionWarning(path, st.st_mode);
    if (!perm.empty()) err << "abusewatch token new: warning: " << perm << "\n";
    std::string text;
    mode_t mode = 0;
    if (Status s = ReadSmallFile(path, &text, &mode); !s.ok()) {
      err << "abusewatch token new: " << s.message() << "\n";
      return 1;
    }
    needs_newline = !text.empty() && text.back() != '\n';
  } else if (errno != ENOENT) {
    err << "abusewatch token new: " << path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    err << "abusewatch token new: cannot open " << path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const std::string data = (needs_newline ? "\n" : "") + line;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      close(fd);
      err << "abusewatch token new: cannot write " << path << ": " << std::strerror(e) << "\n";
      return 1;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    err << "abusewatch token new: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  out << token << "\n";
  out.flush();
  err << "# the token is shown once, above; appended \"" << options.name << "\" (" << RoleName(role)
      << ") to " << path << (exists ? "" : " (created, mode 0600)")
      << "; the daemon uses it after its next reload of the token file\n";
  return 0;
}

}  // namespace abusewatch
