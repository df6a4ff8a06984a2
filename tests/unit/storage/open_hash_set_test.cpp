#include "storage/open_hash_set.hpp"

#include <cstddef>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace kms::storage {
namespace {

// Elements are owned strings; lookups go by string_view (transparent), as the registry's do.
using Element = std::shared_ptr<const std::string>;

// A hash with only `buckets` distinct values, so that probe runs are long, wrap around the
// table's end, and interleave; buckets == 0 means std::hash.
struct TestHash {
  using is_transparent = void;
  static inline std::size_t buckets = 0;
  std::size_t operator()(std::string_view s) const noexcept {
    const std::size_t h = std::hash<std::string_view>{}(s);
    return buckets == 0 ? h : h % buckets;
  }
  std::size_t operator()(const Element& e) const noexcept { return (*this)(std::string_view(*e)); }
};
struct TestEqual {
  using is_transparent = void;
  static std::string_view ViewOf(std::string_view s) { return s; }
  static std::string_view ViewOf(const Element& e) { return *e; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return ViewOf(a) == ViewOf(b);
  }
};
using Set = OpenHashSet<Element, TestHash, TestEqual>;

Element Make(const std::string& s) { return std::make_shared<const std::string>(s); }

std::multiset<std::string> Contents(const Set& set) {
  std::multiset<std::string> out;
  for (const Element& e : set) out.insert(*e);
  return out;
}

TEST_CASE("OpenHashSet: an empty set finds nothing and iterates over nothing") {
  TestHash::buckets = 0;
  Set set;
  CHECK(set.empty());
  CHECK(set.Find(std::string_view("a")) == nullptr);
  CHECK_FALSE(set.Erase(std::string_view("a")));
  CHECK(set.begin() == set.end());
}

TEST_CASE("OpenHashSet: Insert refuses a duplicate, Upsert replaces it") {
  TestHash::buckets = 0;
  Set set;
  const Element first = Make("key");
  CHECK(set.Insert(first));
  CHECK_FALSE(set.Insert(Make("key")));
  REQUIRE(set.Find(std::string_view("key")) != nullptr);
  CHECK(set.Find(std::string_view("key"))->get() == first.get());  // the first one stayed

  const Element second = Make("key");
  set.Upsert(second);
  CHECK(set.size() == 1);
  CHECK(set.Find(std::string_view("key"))->get() == second.get());
}

TEST_CASE("OpenHashSet: Erase releases the element it removes") {
  TestHash::buckets = 0;
  Set set;
  std::weak_ptr<const std::string> watch;
  {
    const Element e = Make("gone");
    watch = e;
    set.Insert(e);
  }
  CHECK_FALSE(watch.expired());
  CHECK(set.Erase(std::string_view("gone")));
  CHECK(watch.expired());
  CHECK(set.empty());
}

TEST_CASE("OpenHashSet: Clear empties the set, which then works as new") {
  TestHash::buckets = 0;
  Set set;
  for (int i = 0; i < 100; ++i) set.Insert(Make(std::to_string(i)));
  set.Clear();
  CHECK(set.empty());
  CHECK(set.Find(std::string_view("5")) == nullptr);
  CHECK(set.Insert(Make("5")));
  CHECK(set.Find(std::string_view("5")) != nullptr);
}

TEST_CASE("OpenHashSet: Reserve keeps every element findable") {
  TestHash::buckets = 0;
  Set set;
  for (int i = 0; i < 10; ++i) set.Insert(Make(std::to_string(i)));
  set.Reserve(10000);
  for (int i = 0; i < 10; ++i) CHECK(set.Find(std::to_string(i)) != nullptr);
  CHECK(set.size() == 10);
}

// Random inserts, upserts and erases checked against std::set after every step, with a full
// hash and with hashes colliding into few values (long runs, wrap-around, backward shifts).
TEST_CASE("OpenHashSet: matches std::set under random operations") {
  const std::size_t buckets = GENERATE(std::size_t{0}, std::size_t{7}, std::size_t{1});
  TestHash::buckets = buckets;
  CAPTURE(buckets);
  std::mt19937 rng(12345);
  Set set;
  std::set<std::string> model;
  const unsigned universe = buckets == 1 ? 40 : 600;  // one bucket: every probe is a full scan
  for (int step = 0; step < 6000; ++step) {
    const std::string s = "k" + std::to_string(rng() % universe);
    switch (rng() % 3) {
      case 0:
        CHECK(set.Insert(Make(s)) == model.insert(s).second);
        break;
      case 1:
        set.Upsert(Make(s));
        model.insert(s);
        break;
      default:
        CHECK(set.Erase(std::string_view(s)) == (model.erase(s) == 1));
        break;
    }
    REQUIRE(set.size() == model.size());
    if (step % 97 == 0) {
      for (unsigned i = 0; i < universe; ++i) {
        const std::string probe = "k" + std::to_string(i);
        const Element* found = set.Find(std::string_view(probe));
        REQUIRE((found != nullptr) == (model.count(probe) == 1));
        if (found != nullptr) CHECK(**found == probe);
      }
      CHECK(Contents(set) == std::multiset<std::string>(model.begin(), model.end()));
    }
  }
  TestHash::buckets = 0;
}

}  // namespace
}  // namespace kms::storage
