#include "tests/harness/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace cityhub::testing {

namespace {

// Whether a listener could bind 127.0.0.1:port now.
bool CanBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// The kernel's range for outgoing connections' local ports (Linux default 32768-60999).
std::pair<int, int> EphemeralRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  int high = 60999;
  if (!(in >> low >> high)) return {32768, 60999};
  return {low, high};
}

}  // namespace

// A port outside the kernel's ephemeral range: a port the kernel hands out (bind to 0) can be
// taken by another test's outgoing connection before our server binds it ("Address already in
// use", seen in CI under ctest --parallel). Also outside 11000-32199, where the scripts'
// free_port_base puts whole stacks (infra/scripts/lib.sh, whose free_port picks like this).
// Random per process, so parallel tests rarely try the same port; each pick is checked bindable
// and not given twice by this process.
int FreePort() {
  static std::mutex mu;
  static std::set<int> given;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  const auto [eph_low, eph_high] = EphemeralRange();
  constexpr int kLow = 32200;
  constexpr int kHigh = 65535;
  std::lock_guard lock(mu);
  std::uniform_int_distribution<int> pick(kLow, kHigh);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const int port = pick(rng);
    if (port >= eph_low && port <= eph_high) continue;  // ~5000 ports left with Linux's default
    if (given.contains(port) || !CanBind(port)) continue;
    given.insert(port);
    return port;
  }
  throw std::runtime_error("cannot find a free port outside the ephemeral range");
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

namespace {
std::string FromEnv(const char* name, const std::string& relative) {
  const char* dir = std::getenv(name);
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(std::string(name) + " is not set (run the tests through ctest)");
  }
  return std::string(dir) + "/" + relative;
}
}  // namespace

std::string BuildPath(const std::string& relative) {
  return FromEnv("CITYHUB_BUILD_DIR", relative);
}
std::string SourcePath(const std::string& relative) {
  return FromEnv("CITYHUB_SOURCE_DIR", relative);
}

Process::Process(Options options) : options_(std::move(options)) {
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : options_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : options_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = -1;
  if (!options_.log_file.empty()) {
    log_fd = ::open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + options_.log_file);
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
}

Process::~Process() { Stop(std::chrono::milliseconds(3000)); }

bool Process::running() {
  if (exit_code_) return false;
  return !Wait(std::chrono::milliseconds(0)).has_value();
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (r < 0) {
      exit_code_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    ::usleep(2000);
  }
}

void Process::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || exit_code_) return;
  Signal(SIGTERM);
  if (!Wait(timeout)) {
    Signal(SIGKILL);
    Wait(std::chrono::milliseconds(5000));
  }
}

std::string Process::Log() const {
  std::ifstream in(options_.log_file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace cityhub::testing
