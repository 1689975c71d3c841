// SPDX-License-Identifier: Apache-2.0
// A stand-in for the SDK thread, for tests and benchmarks that drive media transports directly:
// one thread running an io_context; post() is what a Transport posts its callbacks with.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <future>
#include <thread>

namespace dialtone::test {

class Loop {
 public:
  Loop() : guard_(boost::asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}
  ~Loop() {
    guard_.reset();
    thread_.join();
  }
  Loop(const Loop&) = delete;

  std::function<void(std::function<void()>)> post() {
    return [this](std::function<void()> f) { boost::asio::post(ioc_, std::move(f)); };
  }
  // Runs `f` on the loop's thread and waits for it.
  template <class F>
  void run(F f) {
    std::promise<void> done;
    boost::asio::post(ioc_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace dialtone::test
