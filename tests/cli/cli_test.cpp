// SPDX-License-Identifier: Apache-2.0
// The `dialtone` binary against a real dialtoned: headless calls, and exit codes that say how
// each call ended.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/audio_analysis.hpp"
#include "support/build_paths.hpp"
#include "support/harness.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_files.hpp"

namespace dialtone::test {
namespace {

// A `dialtone` process; its stdout and stderr go to a file.
class Cli {
 public:
  // With `terminal`, the CLI runs on a pseudo-terminal (util-linux `script`) and keys() types.
  Cli(const std::string& dir, const std::string& name, std::vector<std::string> args,
      bool terminal = false)
      : log_(dir + "/" + name + ".out") {
    args.insert(args.begin(), dialtone::build_paths::dialtone_cli);
    if (terminal) {
      std::string cmd;
      for (auto& a : args) cmd += "'" + a + "' ";
      args = {"/usr/bin/script", "-qfec", cmd, "/dev/null"};
    }
    int in[2];
    if (pipe(in) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      dup2(in[0], 0);
      close(in[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    keys_ = in[1];
  }
  void keys(const std::string& k) { (void)::write(keys_, k.data(), k.size()); }
  ~Cli() {
    close(keys_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // The exit code, or -1 if it did not exit within `limit`.
  int wait(std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string output() const {
    std::ifstream f(log_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  // Waits until the output contains `text`.
  bool wait_for(const std::string& text, std::chrono::seconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (output().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int keys_ = -1;
};

class CliTest : public TempDirTest {
 protected:
  std::vector<std::string> base(const ServerProcess& s, const std::string& user) {
    return {"--server", "http://127.0.0.1:" + std::to_string(s.port()), "--user", user};
  }
  std::vector<std::string> with(std::vector<std::string> a, std::vector<std::string> more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
};

TEST_F(CliTest, CallAndAnswerTalkAndExitZero) {
  ServerProcess server;
  Cli bob(dir, "bob",
          with(base(server, "bob"), {"answer", "--input", "tone:880", "--record", dir + "/bob.wav",
                                     "--ice-address", "127.0.0.1", "--duration", "30"}));
  ASSERT_TRUE(bob.wait_for("waiting for a call")) << bob.output();
  Cli alice(dir, "alice",
            with(base(server, "alice"),
                 {"call", "bob", "--input", "tone:440", "--record", dir + "/alice.wav",
                  "--ice-address", "127.0.0.1", "--hangup-after", "1.5"}));
  EXPECT_EQ(alice.wait(), 0) << alice.output();
  EXPECT_EQ(bob.wait(), 0) << bob.output();
  EXPECT_NE(alice.output().find("connected with bob"), std::string::npos) << alice.output();
  EXPECT_NE(bob.output().find("incoming call from alice"), std::string::npos) << bob.output();
  EXPECT_NEAR(dominant_frequency(read_wav(dir + "/alice.wav")), 880, 10);
  EXPECT_NEAR(dominant_frequency(read_wav(dir + "/bob.wav")), 440, 10);
  // Both show the same security code, six digits from the two DTLS fingerprints.
  auto code = [](const std::string& out) {
    auto at = out.find("security code ");
    return at == std::string::npos ? std::string() : out.substr(at + 14, 7);
  };
  EXPECT_EQ(code(alice.output()).size(), 7u) << alice.output();
  EXPECT_EQ(code(alice.output()), code(bob.output()));
  // Each prints the call's summary from the server: both sides' paths and quality.
  for (auto* c : {&alice, &bob}) {
    std::string out = c->output();
    EXPECT_NE(out.find("call ended (ended_by_user), set up in "), std::string::npos) << out;
    EXPECT_NE(out.find("  you: direct (host to host), first audio "), std::string::npos) << out;
    EXPECT_NE(out.find("    quality good: MOS "), std::string::npos) << out;
  }
  EXPECT_NE(alice.output().find("  bob: direct (host to host)"), std::string::npos)
      << alice.output();

  // History, then the call's details and timeline.
  Cli history(dir, "history", with(base(server, "alice"), {"history"}));
  EXPECT_EQ(history.wait(), 0) << history.output();
  std::string h = history.output();
  EXPECT_NE(h.find(" outgoing  bob "), std::string::npos) << h;
  auto id = h.substr(h.find_last_of(' ', h.size() - 2) + 1);
  id.pop_back();  // the newline
  Cli info(dir, "info", with(base(server, "bob"), {"call-info", id, "--timeline"}));
  EXPECT_EQ(info.wait(), 0) << info.output();
  std::string i = info.output();
  EXPECT_NE(i.find("  alice: direct (host to host)"), std::string::npos) << i;
  for (const char* line : {"state state=connected event=ready", "media_connected side=caller",
                           "media_connected side=receiver", "signals side=server from=caller"})
    EXPECT_NE(i.find(line), std::string::npos) << line << "\n" << i;
  Cli missing(dir, "missing", with(base(server, "bob"), {"call-info", "no-such-call"}));
  EXPECT_EQ(missing.wait(), 2) << missing.output();
  EXPECT_NE(missing.output().find("not_found"), std::string::npos) << missing.output();
}

TEST_F(CliTest, ExitCodesSayHowTheCallEnded) {
  ServerProcess server({"--ring-timeout-s", "2"});
  dev_token(server.port(), "bob");
  // Nobody answers: timeout.
  Cli lonely(
      dir, "timeout",
      with(base(server, "alice"), {"call", "bob", "--input", "silence", "--output", "none"}));
  EXPECT_EQ(lonely.wait(), 11) << lonely.output();
  // Unknown user: the server says 404 — nothing to call.
  Cli unknown(
      dir, "unknown",
      with(base(server, "alice"), {"call", "nobody", "--input", "silence", "--output", "none"}));
  EXPECT_EQ(unknown.wait(), 3) << unknown.output();
  // Bad flags: usage.
  Cli bad(dir, "bad", with(base(server, "alice"), {"call", "bob", "--input", "kazoo"}));
  EXPECT_EQ(bad.wait(), 2) << bad.output();
  // Several servers (a cluster's nodes), the first one down: the next one is used.
  Cli failover(dir, "failover",
               {"--server", "http://127.0.0.1:1,http://127.0.0.1:" + std::to_string(server.port()),
                "--user", "alice", "call", "bob", "--input", "silence", "--output", "none"});
  EXPECT_EQ(failover.wait(), 11) << failover.output();
  // Server down: unreachable.
  Cli down(dir, "down", {"--server", "http://127.0.0.1:1", "--user", "alice", "call", "bob"});
  EXPECT_EQ(down.wait(), 3) << down.output();
}

// The options above the subcommands after one; `--user` signs in without renaming anyone; one
// version, the server's.
TEST_F(CliTest, GlobalOptionsAfterTheSubcommandAndNoRenaming) {
  ServerProcess server({"--ring-timeout-s", "2"});
  std::string bob = dev_token(server.port(), "bob");
  dev_token(server.port(), "alice");  // "Alice"
  Cli late(dir, "late",
           {"call", "bob", "--input", "silence", "--output", "none", "--server",
            "http://127.0.0.1:" + std::to_string(server.port()), "--user", "alice"});
  EXPECT_EQ(late.wait(), 11) << late.output();
  EXPECT_NE(late.output().find("calling Bob"), std::string::npos) << late.output();
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/alice", "", bob).body.at("name"), "Alice");
  Cli version(dir, "version", {"--version"});
  EXPECT_EQ(version.wait(), 0);
  auto info = http(server.port(), "GET", "/v1/info");
  EXPECT_EQ(version.output(),
            "dialtone " + std::string(info.body.at("version").as_string()) + "\n");
}

TEST_F(CliTest, RejectedAndBusy) {
  ServerProcess server;
  dev_token(server.port(), "bob");
  dev_token(server.port(), "carol");
  // bob listens (not auto-answering, no terminal): a headless listener never answers, so the
  // reject comes from the contract directly.
  auto bobToken = dev_token(server.port(), "bob");
  Cli alice(dir, "alice",
            with(base(server, "alice"), {"call", "bob", "--input", "silence", "--output", "none"}));
  ASSERT_TRUE(alice.wait_for("calling Bob")) << alice.output();
  auto calls = http(server.port(), "GET", "/v1/calls?limit=1", "", bobToken);
  std::string id(calls.body.at("calls").as_array()[0].at("callId").as_string());
  // While alice's call is up, carol calling alice finds her busy.
  Cli carol(
      dir, "carol",
      with(base(server, "carol"), {"call", "alice", "--input", "silence", "--output", "none"}));
  EXPECT_EQ(carol.wait(), 12) << carol.output();
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls/" + id + "/reject", "{}", bobToken).status, 200);
  EXPECT_EQ(alice.wait(), 10) << alice.output();
}

}  // namespace
}  // namespace dialtone::test

namespace dialtone::test {
namespace {

TEST_F(CliTest, InteractiveKeysAnswerMuteAndHangUp) {
  ServerProcess server;
  auto aliceToken = dev_token(server.port(), "alice");
  Cli bob(dir, "bob",
          with(base(server, "bob"), {"listen", "--input", "tone:880", "--output", "none",
                                     "--ice-address", "127.0.0.1", "--duration", "60"}),
          true);
  ASSERT_TRUE(bob.wait_for("listening for calls as bob")) << bob.output();
  Cli alice(dir, "alice",
            with(base(server, "alice"), {"call", "bob", "--input", "tone:440", "--output", "none",
                                         "--ice-address", "127.0.0.1", "--duration", "60"}));
  ASSERT_TRUE(bob.wait_for("press a to answer")) << bob.output();
  bob.keys("a");
  // alice was named "Alice" by her token; the CLI's --user alice keeps it.
  ASSERT_TRUE(bob.wait_for("connected with Alice")) << bob.output();
  // The status line: state, the other party, the timer, the quality.
  ASSERT_TRUE(bob.wait_for("connected  Alice  00:0")) << bob.output();
  EXPECT_TRUE(bob.wait_for("quality excellent"));
  bob.keys("m");
  ASSERT_TRUE(bob.wait_for("[muted]")) << bob.output();
  auto calls = http(server.port(), "GET", "/v1/calls?limit=1", "", aliceToken);
  std::string id(calls.body.at("calls").as_array()[0].at("callId").as_string());
  bool muted = false;
  for (int i = 0; i < 100 && !muted; ++i, std::this_thread::sleep_for(20ms))
    muted = http(server.port(), "GET", "/v1/calls/" + id, "", aliceToken)
                .body.at("metadata")
                .at("receiverMuted")
                .as_bool();
  EXPECT_TRUE(muted);
  bob.keys("q");  // hang up and quit
  EXPECT_EQ(bob.wait(), 0) << bob.output();
  EXPECT_EQ(alice.wait(), 0) << alice.output();
}

}  // namespace
}  // namespace dialtone::test

namespace dialtone::test {
namespace {

TEST_F(CliTest, TalksToAnHttpsServerItCanVerify) {
  TlsFiles files('a');
  ServerProcess server(files.flags());
  std::string base = "https://127.0.0.1:" + std::to_string(server.port());
  Cli bob(dir, "bob",
          {"--server", base, "--ca-file", files.ca, "--user", "bob", "answer", "--input",
           "tone:880", "--ice-address", "127.0.0.1", "--duration", "30"});
  ASSERT_TRUE(bob.wait_for("waiting for a call")) << bob.output();
  Cli alice(dir, "alice",
            {"--server", base, "--ca-file", files.ca, "--user", "alice", "call", "bob", "--input",
             "tone:440", "--ice-address", "127.0.0.1", "--hangup-after", "1"});
  EXPECT_EQ(alice.wait(), 0) << alice.output();
  EXPECT_EQ(bob.wait(), 0) << bob.output();

  // Without the CA, the certificate cannot be verified: nothing is sent, exit 3.
  Cli untrusting(dir, "untrusting", {"--server", base, "--user", "carol", "call", "bob"});
  EXPECT_EQ(untrusting.wait(), 3) << untrusting.output();
  EXPECT_NE(untrusting.output().find("certificate verify failed"), std::string::npos)
      << untrusting.output();
}

// Tokens from an identity provider: a refused one ends the CLI at once (exit 3) with the server's
// reason; --token-command is run again whenever the server says the token is about to expire, so
// a call outlives tokens of a few seconds without a reconnect; a failing command says so.
TEST_F(CliTest, TokensComeFromACommandAndARefusedOneEndsAtOnce) {
  const std::string secret = "cli-test-secret-0123456789abcdef";
  ServerProcess server({"--jwt-hs256-secret", secret});
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());

  Cli refused(dir, "refused",
              {"--server", url, "--token", issuer_token(secret, "alice", -120s), "call", "bob"});
  EXPECT_EQ(refused.wait(10s), 3) << refused.output();
  EXPECT_NE(refused.output().find("token expired"), std::string::npos) << refused.output();

  Cli failing(dir, "failing", {"--server", url, "--token-command", "exit 7", "call", "bob"});
  EXPECT_EQ(failing.wait(10s), 3) << failing.output();
  EXPECT_NE(failing.output().find("failed (status 7)"), std::string::npos) << failing.output();

  // Bob's command hands out the next of ten tokens, 4 s, 8 s, ... 40 s from now, one per run.
  std::filesystem::create_directory(dir + "/tokens");
  for (int i = 0; i < 10; ++i)
    std::ofstream(dir + "/tokens/" + std::to_string(i))
        << issuer_token(secret, "bob", 4s * (i + 1));
  std::string next = "f=$(ls -1 " + dir + "/tokens | sort -n | head -n1); cat " + dir +
                     "/tokens/$f && rm " + dir + "/tokens/$f";
  Cli bob(dir, "bob",
          {"--server", url, "--token-command", next, "answer", "--input", "tone:880", "--output",
           "none", "--ice-address", "127.0.0.1", "--duration", "30"});
  ASSERT_TRUE(bob.wait_for("waiting for a call")) << bob.output();
  Cli alice(
      dir, "alice",
      {"--server", url, "--token", issuer_token(secret, "alice", 1h), "call", "bob", "--input",
       "tone:440", "--output", "none", "--ice-address", "127.0.0.1", "--hangup-after", "10"});
  EXPECT_EQ(alice.wait(), 0) << alice.output();
  EXPECT_EQ(bob.wait(), 0) << bob.output();
  EXPECT_EQ(bob.output().find("connection lost"), std::string::npos) << bob.output();
  // The first token and at least two renewals (at ~2 s, then ~4 s later, ...) were taken.
  std::size_t left = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir + "/tokens")) ++left;
  EXPECT_LE(left, 7u);
  EXPECT_EQ(server.log().find("WS_TOKEN_EXPIRED"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace dialtone::test
