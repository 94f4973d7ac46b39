// The review page served at /review/: one HTML document, its script and its style sheet,
// embedded in the binary. Sources under daemon/review/page/; review_page.cc is generated from
// them in the build tree by page/embed.sh. No external resources: it works offline and under
// `Content-Security-Policy: default-src 'self'`.
#ifndef ABUSEWATCH_DAEMON_REVIEW_REVIEW_PAGE_H_
#define ABUSEWATCH_DAEMON_REVIEW_REVIEW_PAGE_H_

#include <string_view>

namespace abusewatch {

std::string_view ReviewPageHtml();  // /review/
std::string_view ReviewPageJs();    // /review/app.js
std::string_view ReviewPageCss();   // /review/app.css
std::string_view ReviewPageIcon();  // /review/favicon.svg

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_REVIEW_REVIEW_PAGE_H_
