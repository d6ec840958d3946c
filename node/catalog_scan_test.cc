// Catalog::ForEachSession: every session summary, one at a time (what node start, retention,
// the outbox fill and `tcd status` walk at an archive of millions), and a damaged one named.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <string>
#include <vector>

#include "node/search_test_fixture.h"

namespace tcd::node {
namespace {

using namespace search_testing;
using CatalogScanTest = SearchTest;

TEST_F(CatalogScanTest, EverySessionOnceInIdOrderAndADamagedSummaryIsNamed) {
  for (uint32_t n : {3u, 1u, 2u}) {
    Generated g;
    g.id = MakeId(n);
    g.start_us = kT0 + n;
    g.meta = {{"note", "x"}};
    Add(g);
  }
  std::vector<crypto::SessionId> seen;
  ASSERT_TRUE(catalog_->ForEachSession([&](const SessionRecord& r) {
    seen.push_back(r.id);
    return Status::OK();
  }).ok());
  EXPECT_EQ(seen, (std::vector<crypto::SessionId>{MakeId(1), MakeId(2), MakeId(3)}));
  // fn's first error stops the walk and is what it returns.
  seen.clear();
  Status stop = catalog_->ForEachSession([&](const SessionRecord& r) {
    seen.push_back(r.id);
    return seen.size() == 2 ? Status::Corruption("stop here") : Status::OK();
  });
  EXPECT_EQ(stop.message(), "stop here");
  EXPECT_EQ(seen.size(), 2u);
  Raw([&](rocksdb::DB* db, Families& cf) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf["sessions"], Key(MakeId(2)), "garbage").ok());
  });
  Status damaged = catalog_->ForEachSession([](const SessionRecord&) { return Status::OK(); });
  EXPECT_TRUE(damaged.IsCorruption()) << damaged.ToString();
  EXPECT_NE(damaged.ToString().find("session " + crypto::SessionIdToString(MakeId(2))),
            std::string::npos)
      << damaged.ToString();
  auto listed = catalog_->ListSessions();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().ToString(), damaged.ToString());
}

}  // namespace
}  // namespace tcd::node
