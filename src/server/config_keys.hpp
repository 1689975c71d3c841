// SPDX-License-Identifier: Apache-2.0
// Every configuration key, once: its type and range, its unit, its section and a line of help.
// The TOML reader, the environment (DIALTONED_<KEY>), the flags (--key-with-dashes), --help,
// the man page (help2man reads --help) and the check that conf/dialtoned.toml lists every key
// all read this one table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/config.hpp"

namespace dialtone {

struct ConfigKey {
  using Field = std::variant<int Config::*, std::int64_t Config::*, std::string Config::*,
                             bool Config::*, std::vector<std::string> Config::*>;
  const char* name;
  Field field;
  const char* section;            // the heading it is listed under in --help
  const char* unit;               // "s", "per minute"… or ""
  const char* help;               // one line
  std::int64_t min = 0, max = 0;  // integers only
  // Given, it must say something: an empty value is a mistake (a template that expanded to
  // nothing), never "off".
  bool neverEmpty = false;
  // A secret given inline: the file that holds it must be private.
  bool secret = false;
};

std::span<const ConfigKey> config_keys();
const ConfigKey* find_config_key(std::string_view name);

std::string env_name(const ConfigKey& k);   // DIALTONED_RING_TIMEOUT_S
std::string flag_name(const ConfigKey& k);  // --ring-timeout-s
// The default as TOML would write it ("45", "\"127.0.0.1:8080\"", "[]"), or "" for none.
std::string default_text(const ConfigKey& k);

// dialtoned --help: usage, then every key by section with its description, unit, default
// and environment variable (help2man makes dialtoned(8) from it).
std::string config_help();

}  // namespace dialtone
