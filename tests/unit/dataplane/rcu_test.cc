// RCU snapshot distribution inside one worker: a request keeps the table it started with, and the
// old table (with its Snapshot) is released as soon as the last such request ends.
#include <gtest/gtest.h>

#include "dataplane/worker.h"

namespace gantry::dataplane {
namespace {

RouteTablePtr tableFor(const std::shared_ptr<ir::Snapshot>& s) {
  return RouteTable::build(s, nullptr);
}

TEST(Rcu, OldSnapshotReleasedAfterSwap) {
  Worker w(0, Options{});
  auto a = std::make_shared<ir::Snapshot>();
  a->version = 1;
  std::weak_ptr<ir::Snapshot> weak_a = a;
  w.setTable(tableFor(a));
  a.reset();
  w.io().poll();
  ASSERT_FALSE(weak_a.expired());
  EXPECT_EQ(w.currentTable()->table->snapshot().version, 1u);

  auto b = std::make_shared<ir::Snapshot>();
  b->version = 2;
  w.setTable(tableFor(b));
  w.io().poll();
  EXPECT_TRUE(weak_a.expired()) << "the previous snapshot must be freed after the swap";
  EXPECT_EQ(w.currentTable()->table->snapshot().version, 2u);
}

TEST(Rcu, InFlightRequestKeepsItsSnapshot) {
  Worker w(0, Options{});
  auto a = std::make_shared<ir::Snapshot>();
  a->version = 1;
  std::weak_ptr<ir::Snapshot> weak_a = a;
  w.setTable(tableFor(a));
  a.reset();
  w.io().poll();
  LocalTableRef in_flight = w.currentTable();  // what a request takes when it starts

  auto b = std::make_shared<ir::Snapshot>();
  b->version = 2;
  w.setTable(tableFor(b));
  w.io().poll();
  EXPECT_EQ(w.currentTable()->table->snapshot().version, 2u);  // new requests see B
  ASSERT_FALSE(weak_a.expired());
  EXPECT_EQ(in_flight->table->snapshot().version, 1u);  // the old request still sees A
  in_flight.reset();
  EXPECT_TRUE(weak_a.expired());
}

}  // namespace
}  // namespace gantry::dataplane
