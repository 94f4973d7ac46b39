// Bearer tokens for the review API.
//
// A token is "aw_" followed by 32 random bytes (OpenSSL RAND_bytes) in unpadded base64url: 46
// characters, shown once when it is made and never stored. The token file stores its SHA-256:
//
//   # name      role      hash of the token
//   alice       reviewer  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//   ops-robot   viewer    sha256:...
//
// One entry per line, fields separated by spaces or tabs; `#` starts a comment (a whole line, or
// the rest of a line after an entry's fields); blank lines are ignored. Names ([A-Za-z0-9._@+-],
// at most 128) are unique, and so are hashes. Roles, each allowing what the previous allows:
// viewer (read), reviewer (work on cases), admin. Errors are reported as "FILE:LINE: message".
//
// Create tokens with `abusewatch token new --name N --role R [--append FILE]`
// (RunTokenCommand below).
#ifndef ABUSEWATCH_DAEMON_REVIEW_AUTH_H_
#define ABUSEWATCH_DAEMON_REVIEW_AUTH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/review/review_types.h"
#include "detectors/status.h"

namespace abusewatch {

// Role, RoleName() and ParseRole() ("viewer", "reviewer", "admin") are the review store's
// (review_types.h); a principal is the Actor that ReviewService calls take.
using Principal = Actor;

// True when a principal with role `have` may do what needs role `need`
// (admin > reviewer > viewer).
bool Allows(Role have, Role need);

struct AuthResult {
  enum class Code {
    kOk,         // principal is set
    kMissing,    // no Authorization header, or an empty one
    kMalformed,  // not "Bearer <token68>" (scheme case-insensitive, spaces around allowed)
    kUnknown,    // well-formed, but no entry has this token's hash
  };
  Code code = Code::kMissing;
  Principal principal;
};

// A new random token ("aw_" + 43 base64url characters). kInternal if the random generator
// fails.
Status GenerateToken(std::string* token);
// "sha256:<64 lower-case hex digits>" of the token's bytes.
std::string TokenHash(std::string_view token);
// True for a valid entry name.
bool ValidTokenName(std::string_view name);

// The set of tokens of one token file. Thread safety: every method may be called concurrently
// with every other; Authenticate() runs in parallel with other Authenticate() calls and with a
// Load()/Reload() (which parses outside the lock and then swaps the new set in whole: a call sees
// either the old set or the new one).
class TokenStore {
 public:
  // An empty store: every well-formed token is kUnknown until Load() succeeds.
  TokenStore();
  ~TokenStore();
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Reads and parses the token file at `path`. On success the store holds its entries (and
  // remembers the path for Reload()); on failure (kIoError: unreadable; kInvalidArgument:
  // "path:line: message") the store keeps what it had. *warning (when not null) receives ""
  // or a warning that does not prevent loading: the file is accessible to group or others
  // (it should be mode 0600), or it holds no entry.
  Status Load(const std::string& path, std::string* warning = nullptr);

  // Load() of the last successfully loaded path; keeps the current set when the file is now
  // invalid. kInvalidArgument when Load() never succeeded.
  Status Reload(std::string* warning = nullptr);

  // Checks the value of an HTTP Authorization header ("" when the request had none). Compares
  // the SHA-256 of the presented token with every entry, always all of them, with
  // CRYPTO_memcmp: the time taken does not depend on which entry (if any) matched.
  AuthResult Authenticate(std::string_view authorization_header_value) const;

  // The entries now (names and roles, in file order), e.g. for an admin listing.
  std::vector<Principal> List() const;
  // Number of entries now.
  size_t size() const;

 private:
  struct Entry {
    std::string name;
    Role role;
    std::array<uint8_t, 32> hash;
  };
  using Entries = std::vector<Entry>;
  static Status Parse(std::string_view text, const std::string& source, Entries* entries);

  mutable std::mutex mu_;  // guards entries_ and path_ (not the Entries they point to)
  std::shared_ptr<const Entries> entries_;
  std::string path_;
};

// `abusewatch token new --name NAME --role ROLE [--append FILE]`.
struct TokenCommandOptions {
  std::string command;  // "new"
  std::string name;
  std::string role;    // viewer | reviewer | admin
  std::string append;  // token file to append the entry to; "" prints the entry instead
};

// Makes a token for NAME with ROLE and prints it once, alone on a line, on `out`. Without
// --append, prints the line to add to the token file on `err`. With --append FILE, appends
// that line to FILE (created with mode 0600 when missing; an existing file must parse, must not
// have NAME yet, and gets a warning on `err` when group or others can access it).
// Exit status: 0 done; 2 usage (unknown command or role, invalid name, name already in FILE,
// FILE invalid); 1 I/O or random generator failure.
int RunTokenCommand(const TokenCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_AUTH_H_
