#include <gtest/gtest.h>
TEST(Placeholder, Replaced) { EXPECT_TRUE(true); }
