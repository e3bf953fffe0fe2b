// cityctl: the command-line client of cityhub's public HTTP API (docs/cityctl.md).
#include <unistd.h>

#include <chrono>
#include <iostream>

#include <curl/curl.h>

#include "clients/cityctl/cli.h"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  cityhub::cityctl::Io io{
      std::cin, std::cout, std::cerr,
      [] {
        return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
      },
      isatty(STDIN_FILENO) == 1};
  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = cityhub::cityctl::Cli(io).Run(args);
  curl_global_cleanup();
  return code;
}
