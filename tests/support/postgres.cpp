// SPDX-License-Identifier: Apache-2.0
#include "support/postgres.hpp"

#include "support/build_paths.hpp"
#include "support/harness.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dialtone::test {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

// Runs `args` as the postgres user when we are root (PostgreSQL refuses to run as root).
pid_t spawn_as_postgres(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    if (getuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (!pw || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void own_by_postgres(const std::string& path) {
  if (getuid() != 0) return;
  passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("no postgres user (apt-get install postgresql)");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("cannot chown " + path);
}

void run_as_postgres(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = spawn_as_postgres(args, log);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(args[0] + " failed (see " + log + ")");
}

void initdb(const std::string& data, const std::string& log) {
  run_as_postgres(
      {kBin + "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"},
      log);
}

// initdb costs ~1.5 s of CPU, and the suite starts a PostgreSQL in some 300 test processes: the
// first of them makes a template cluster (under a lock), the others copy it (~0.2 s). The build
// names the template (a temporary directory of its own); scripts/test.sh removes it at the end.
// Returns "" when the build names none.
std::string template_cluster() {
  if (*dialtone::build_paths::pg_template == '\0') return "";
  auto dir = std::filesystem::temp_directory_path() / dialtone::build_paths::pg_template;
  std::string lock_path = dir.string() + ".lock";
  int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + lock_path);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};
  if (!std::filesystem::exists(dir / "ready")) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    own_by_postgres(dir.string());
    initdb((dir / "data").string(), (dir / "initdb.log").string());
    std::ofstream(dir / "ready") << "initdb done\n";
  }
  return (dir / "data").string();
}

bool query(const std::string& url, const std::string& sql, std::string* error = nullptr) {
  PGconn* c = PQconnectdb(url.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok && error) *error = PQresultErrorMessage(r);
    PQclear(r);
  } else if (error) {
    *error = PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

}  // namespace

PostgresServer::PostgresServer() {
  std::random_device rd;
  dir_ = (std::filesystem::temp_directory_path() /
          ("pg-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd())))
             .string();
  std::filesystem::create_directories(dir_);
  own_by_postgres(dir_);
  std::string from = template_cluster();
  if (from.empty())
    initdb(dir_ + "/data", dir_ + "/initdb.log");
  else
    run_as_postgres({"/bin/cp", "-a", from, dir_ + "/data"}, dir_ + "/copy.log");
  port_ = free_tcp_port();
  start();
}

void PostgresServer::start() {
  pid_ = spawn_as_postgres(
      {kBin + "postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
       "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"},
      dir_ + "/postgres.log");
  std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!query(url, "SELECT 1")) {
    if (std::chrono::steady_clock::now() > until || waitpid(pid_, nullptr, WNOHANG) == pid_)
      throw std::runtime_error("PostgreSQL did not start (see " + dir_ + "/postgres.log)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);  // fast shutdown: disconnect clients, checkpoint
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void PostgresServer::kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::new_database() {
  static int n = 0;
  std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++n);
  std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(port_);
  std::string error;
  if (!query(base + "/postgres", "CREATE DATABASE " + name, &error))
    throw std::runtime_error("CREATE DATABASE failed: " + error);
  return base + "/" + name;
}

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

}  // namespace dialtone::test
