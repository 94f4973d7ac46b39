#include "daemon/state/checkpoint_marker.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace abusewatch {
namespace {

constexpr const char* kName = "/ABUSEWATCH-CHECKPOINT";

std::string Line(uint64_t checkpoint) {
  return "abusewatch state checkpoint " + std::to_string(checkpoint);
}

std::string Sum(const std::string& line) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(line.data(), line.size())));
  return buf;
}

}  // namespace

Status WriteCheckpointMarker(const std::string& dir, uint64_t checkpoint) {
  const std::string path = dir + kName, tmp = path + ".tmp";
  const std::string line = Line(checkpoint);
  const std::string text = line + "\n" + Sum(line) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IoError(tmp + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status::IoError(tmp + ": " + std::strerror(err));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IoError(path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status ReadCheckpointMarker(const std::string& dir, uint64_t* checkpoint) {
  *checkpoint = 0;
  std::ifstream in(dir + kName);
  if (!in) return Status::Ok();
  std::string line, sum;
  std::getline(in, line);
  std::getline(in, sum);
  const std::string prefix = Line(0).substr(0, Line(0).size() - 1);
  if (sum != Sum(line) || line.rfind(prefix, 0) != 0) {
    return Status::Corruption(dir + kName + " is damaged");
  }
  std::istringstream digits(line.substr(prefix.size()));
  if (!(digits >> *checkpoint)) return Status::Corruption(dir + kName + " is damaged");
  return Status::Ok();
}

void RemoveCheckpointMarker(const std::string& dir) {
  std::remove((dir + kName).c_str());
  std::remove((dir + kName + ".tmp").c_str());
}

}  // namespace abusewatch
