// The connection pool both SQL drivers share (sqlite::Pool, pg::Pool derive from it): hands out
// connections, one per concurrent caller, opening more on demand up to a limit; beyond it, callers wait
// for one to be returned.
//
// `Conn` provides:
//   static Result<std::unique_ptr<Conn>> open(const Target&);
//   bool alive();             // checked before an idle connection is handed out; false closes it
//   bool broken() const;      // on return: true closes it and every idle one (what broke one, most
//                             // often a server restart, has usually broken all)
//   bool in_transaction() const;  Status exec(const std::string&);
// A driver whose connections cannot break (SQLite) answers alive() true and broken() false, and its
// idle connections are simply kept open.
//
// Internal to meta/.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::meta::sql {

template <class Conn, class Target>
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (!conn_) return;
      // A transaction left open by a failed path must not leak into the next caller's work.
      if (!conn_->broken() && conn_->in_transaction()) (void)conn_->exec("ROLLBACK");
      pool_->release(std::move(conn_));
    }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  ConnectionPool(Target target, size_t max_connections) : target_(std::move(target)), max_(max_connections) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // What connections are opened to (and what they may keep a pointer to: it lives as long as the pool).
  const Target& target() const { return target_; }

  // Starts the pool with an already open connection (the one that ran the migrations).
  void add(std::unique_ptr<Conn> conn) {
    std::lock_guard lock(mu_);
    ++open_;
    idle_.push_back(std::move(conn));
  }

  Result<Lease> acquire() {
    std::vector<std::unique_ptr<Conn>> dead;  // closed outside the lock
    std::unique_lock lock(mu_);
    while (true) {
      returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
      if (idle_.empty()) break;
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->alive()) return Lease(this, std::move(conn));
      dead.push_back(std::move(conn));
      --open_;
    }
    ++open_;
    lock.unlock();  // opening takes a round trip or touches the disk: do not hold up other callers
    dead.clear();
    auto conn = Conn::open(target_);
    if (!conn.ok()) {
      lock.lock();
      --open_;
      returned_.notify_one();
      return conn.status();
    }
    return Lease(this, std::move(*conn));
  }

 private:
  void release(std::unique_ptr<Conn> conn) {
    std::vector<std::unique_ptr<Conn>> dead;  // closed outside the lock
    bool broken = conn->broken();
    {
      std::lock_guard lock(mu_);
      if (broken) {
        dead.push_back(std::move(conn));
        for (auto& idle : idle_) dead.push_back(std::move(idle));
        open_ -= dead.size();
        idle_.clear();
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    // One connection back wakes one waiter; closing several frees several slots.
    if (broken) {
      returned_.notify_all();
    } else {
      returned_.notify_one();
    }
  }

  const Target target_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace berth::meta::sql
