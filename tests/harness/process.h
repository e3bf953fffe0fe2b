#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cityhub::testing {

// A free TCP port on 127.0.0.1 at the time of the call (bound to port 0, then released).
int FreePort();

// A new empty directory under $TMPDIR (or /tmp); removed by RemoveTree.
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

// Path of a binary built by this build tree (CITYHUB_BUILD_DIR, set by CTest).
std::string BuildPath(const std::string& relative);
// Path inside the source tree (CITYHUB_SOURCE_DIR).
std::string SourcePath(const std::string& relative);

// A child process. It is killed when this object is destroyed and, through PR_SET_PDEATHSIG,
// when the test process dies, so a failing or crashing test leaves nothing running.
class Process final {
 public:
  struct Options {
    std::vector<std::string> argv;
    // Added to (and overriding) the parent's environment.
    std::map<std::string, std::string> env;
    // stdout and stderr go here (appended); empty: inherited.
    std::string log_file;
  };

  explicit Process(Options options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits for the exit and returns the exit code (128+signal if killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `timeout`, then SIGKILL.
  void Stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // The log file's contents so far.
  std::string Log() const;

 private:
  Options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
template <typename Fn>
bool WaitFor(Fn condition, std::chrono::milliseconds timeout);

}  // namespace cityhub::testing

#include "tests/harness/process_inl.h"
