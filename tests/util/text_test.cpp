// SPDX-License-Identifier: Apache-2.0
#include "util/text.hpp"

#include <gtest/gtest.h>

namespace dialtone {
namespace {

TEST(DisplayText, ControlAndBidiCharactersAreRemoved) {
  // A terminal escape (set the window title, then clear the screen), NUL, DEL, a C1 control.
  EXPECT_EQ(display_text("\x1b]0;pwned\x07"
                         "Eve\x1b[2J"),
            "]0;pwnedEve[2J");
  EXPECT_EQ(display_text(std::string("Ev\0e", 4)), "Eve");
  EXPECT_EQ(display_text("Eve\x7f\xc2\x9b"), "Eve");
  // A right-to-left override makes "Eve\u202Egnp.exe" read as "Eveexe.png".
  EXPECT_EQ(display_text("Eve\u202Egnp.exe"), "Evegnp.exe");
  EXPECT_EQ(display_text("\u2066A\u2069\u200Fb\u061C\u200E"), "Ab");
  // Invisible separators would let two names look the same.
  EXPECT_EQ(display_text("Al\u200Bice\uFEFF\u2060"), "Alice");
}

TEST(DisplayText, LineBreaksBecomeOneSpaceAndTheEndsAreTrimmed) {
  EXPECT_EQ(display_text("  Alice\n\n\tSmith\r\n "), "Alice Smith");
  EXPECT_EQ(display_text("Alice\u2028Smith"), "Alice Smith");
  EXPECT_EQ(display_text("\n\x1b\t"), "");
}

TEST(DisplayText, TextStaysAsItIs) {
  for (const char* s :
       {"Alice", "Zoë Ångström", "渡辺 太郎", "محمد", "👩‍👩‍👧 family", "O'Brien <b>"})
    EXPECT_EQ(display_text(s), s) << s;
}

TEST(DisplayText, InvalidUtf8IsDropped) {
  EXPECT_EQ(display_text("A\xff"
                         "B"),
            "AB");
  EXPECT_EQ(display_text("A\xc0\xaf"
                         "B"),
            "AB");  // overlong '/'
  EXPECT_EQ(display_text("A\xed\xa0\x80"
                         "B"),
            "AB");  // a surrogate
  EXPECT_EQ(display_text("A\xf4\x90\x80\x80"
                         "B"),
            "AB");                            // past U+10FFFF
  EXPECT_EQ(display_text("A\xe2\x82"), "A");  // cut short
}

TEST(DisplayText, LengthIsBoundedBetweenCharacters) {
  EXPECT_EQ(display_text("abcdef", 4), "abcd");
  EXPECT_EQ(display_text("abcé", 4), "abc");  // é is two bytes: not cut in half
  EXPECT_EQ(display_text(std::string(300, 'n'), 256).size(), 256u);
  EXPECT_EQ(display_text("ab cd", 3), "ab");
}

TEST(LogValue, PlainTokensStayPlainAndEverythingElseIsOneQuotedValue) {
  EXPECT_EQ(log_value("ended_by_user"), "ended_by_user");
  EXPECT_EQ(log_value("media_failed:ice-2"), "media_failed:ice-2");
  EXPECT_EQ(log_value("bye callId=FORGED state=connected user=admin"),
            "\"bye callId=FORGED state=connected user=admin\"");
  EXPECT_EQ(log_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(log_value("x\ny\x7f"), "\"x\\x0ay\\x7f\"");
  EXPECT_EQ(log_value(""), "\"\"");
  EXPECT_EQ(log_value("naïve"), "\"naïve\"");
}

}  // namespace
}  // namespace dialtone
