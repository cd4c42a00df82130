// printable(): what a client sent, made one safe line for the audit and access logs.
#include "common/printable.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Printable, ControlCharactersCannotStartANewLineOrColumn) {
  EXPECT_EQ(printable("alice\n1700000000\tadmin"), "alice\\n1700000000\\tadmin");
  EXPECT_EQ(printable("a\rb"), "a\\rb");
  EXPECT_EQ(printable(std::string_view("\x1b[31mred\0x", 10)), "\\x1b[31mred\\x00x");
}

TEST(Printable, BytesOutsidePrintableAsciiAreEscapedAndBackslashesDoubled) {
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\\xc3\\xa9");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("a\\nb"), "a\\\\nb") << "a literal backslash-n must not read as an escape";
  EXPECT_EQ(printable("acme/app:v1.0 sha256:ab"), "acme/app:v1.0 sha256:ab");
}

}  // namespace
}  // namespace berth
