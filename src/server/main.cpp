// SPDX-License-Identifier: Apache-2.0
// dialtoned: the Dialtone call server.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include <sys/stat.h>

#include "server/config.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
  // Everything dialtoned creates — the data dir, the database and its WAL, keys — holds call
  // history, push registrations or secrets: owner-only, whatever umask it was started with.
  ::umask(077);
  dialtone::Config config;
  try {
    if (!dialtone::load_config(argc, argv, config)) return 0;
  } catch (const dialtone::ConfigError& e) {
    std::cerr << "dialtoned: config error: " << e.what() << std::endl;
    return 2;
  }
  auto logger = spdlog::stderr_logger_mt("dialtoned");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  try {
    return dialtone::run_server(config);
  } catch (const dialtone::ConfigError& e) {
    std::cerr << "dialtoned: config error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("FATAL error=\"{}\"", e.what());
    std::cerr << "dialtoned: " << e.what() << std::endl;
    return 1;
  }
}
