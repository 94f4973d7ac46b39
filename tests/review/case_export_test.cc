// Case exports: CSV quoting and formula neutralization, HTML escaping, JSON content.
#include "daemon/review/case_export.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/review/review_test_util.h"

namespace abusewatch::testing {
namespace {

using ExportTest = ReviewFixture;

TEST(CsvCellTest, QuotesAndNeutralizesFormulas) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell(""), "");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvCell("=SUM(A1:A9)"), "'=SUM(A1:A9)");
  EXPECT_EQ(CsvCell("+1"), "'+1");
  EXPECT_EQ(CsvCell("-1"), "'-1");
  EXPECT_EQ(CsvCell("@cmd"), "'@cmd");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvCell("a=b"), "a=b");
}

TEST(HtmlEscapeTest, EscapesEverySpecialCharacter) {
  EXPECT_EQ(HtmlEscape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
}

TEST_P(ExportTest, ExportsAreSafeAndComplete) {
  const std::string key = "=cmd|' /C calc'!A0";
  CaseTransition t = MakeTransition("art12_2", key, true, now_);
  t.basis = "法释〔2019〕15号 第十二条, \"二十万\"";
  t.event_ids = {"p-1", "<p-2>"};
  t.payloads = {{"p-1", R"({"note":"<img src=x onerror=alert(1)>"})"}};
  RecordOutcome out;
  ASSERT_TRUE(service_->RecordTransition(t, &out).ok());
  ASSERT_TRUE(service_->Comment(alice_, out.case_id, "<b>bold</b> & @SUM(1)").ok());
  CaseDetail d;
  ASSERT_TRUE(service_->Get(out.case_id, &d).ok());

  std::string csv = CaseTimelineCsv(d);
  std::string header =
      "case_id,account,at,rule,state,value,threshold,severity,basis,notify,suppressed,events,"
      "transition_id\r\n";
  ASSERT_EQ(csv.substr(0, header.size()), header);
  std::string row = std::to_string(out.case_id) +
                    ",'=cmd|' /C calc'!A0,2026-01-01T00:00:00.000Z,art12_2,firing,200000.00,"
                    "200000.00,warning,\"法释〔2019〕15号 第十二条, \"\"二十万\"\"\",true,false,"
                    "p-1 <p-2>," +
                    t.transition_id + "\r\n";
  EXPECT_EQ(csv.substr(header.size()), row);

  std::string html = CaseToHtml(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;bold&lt;/b&gt; &amp; @SUM(1)"), std::string::npos);
  EXPECT_NE(html.find("=cmd|&#39; /C calc&#39;!A0"), std::string::npos);
  EXPECT_NE(html.find("时间线 / Timeline"), std::string::npos);
  EXPECT_NE(html.find("情节严重（第十二条） / Serious circumstances (art. 12)"), std::string::npos);
  // No external resources.
  EXPECT_EQ(html.find("://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);

  std::string json = CaseToJson(d);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find(R"("account":"=cmd|' /C calc'!A0")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("events":["p-1","<p-2>"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("raw":"{\"note\":\"<img src=x onerror=alert(1)>\"}")"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("serious":true)"), std::string::npos);
  EXPECT_NE(json.find(R"("action":"commented")"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, ExportTest, ::testing::ValuesIn(TestBackends()));

}  // namespace
}  // namespace abusewatch::testing
